/**
 * A deployment and its stats, read every second while the page is open, with the last
 * HISTORY samples kept for the live charts. A failed poll keeps the last good data on screen
 * (the error is shown next to it); a 404 means the deployment is gone.
 */
import { useEffect, useState } from 'react';
import { ApiError } from '../../api/client.ts';
import { type Deployment, type DeploymentStats, serving } from '../../api/serving.ts';

export const POLL_MS = 1000;
const HISTORY = 120;

export interface Sample {
  /** Seconds since the page started polling. */
  t: number;
  stats: DeploymentStats;
}

export interface LiveDeployment {
  deployment: Deployment | undefined;
  stats: DeploymentStats | undefined;
  history: Sample[];
  error: unknown;
  gone: boolean;
  refresh: (d: Deployment) => void;
}

export function useLiveDeployment(name: string): LiveDeployment {
  const [deployment, setDeployment] = useState<Deployment>();
  const [history, setHistory] = useState<Sample[]>([]);
  const [error, setError] = useState<unknown>();
  const [gone, setGone] = useState(false);

  useEffect(() => {
    const started = performance.now();
    let controller: AbortController | null = null;
    let stopped = false;
    const poll = async () => {
      controller = new AbortController();
      try {
        const [d, s] = await Promise.all([serving.deployment(name, controller.signal), serving.stats(name, controller.signal)]);
        if (stopped) return;
        setDeployment(d);
        setHistory((h) => [...h.slice(-(HISTORY - 1)), { t: (performance.now() - started) / 1000, stats: s }]);
        setError(undefined);
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && err.notFound) setGone(true);
        setError(err);
      }
    };
    void poll();
    const t = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(t);
      controller?.abort();
    };
  }, [name]);

  return { deployment, stats: history[history.length - 1]?.stats, history, error, gone, refresh: setDeployment };
}
