/** The names of the lake's datasets and models (to link a task's input/output to them). */
import { useEffect, useState } from 'react';
import { api } from '../api/client.ts';

export interface LakeNames {
  datasets: Set<string>;
  models: Set<string>;
}

let cache: Promise<LakeNames> | null = null;
let cachedAt = 0;

export function useLakeNames(): LakeNames {
  const [names, setNames] = useState<LakeNames>({ datasets: new Set(), models: new Set() });
  useEffect(() => {
    let alive = true;
    if (!cache || Date.now() - cachedAt > 30_000) {
      cachedAt = Date.now();
      cache = Promise.all([api.datasets().catch(() => []), api.models().catch(() => [])]).then(([d, m]) => ({
        datasets: new Set(d.map((x) => x.id)),
        models: new Set(m.map((x) => x.id)),
      }));
    }
    void cache.then((n) => alive && setNames(n));
    return () => {
      alive = false;
    };
  }, []);
  return names;
}
