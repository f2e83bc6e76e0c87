/**
 * Loads something from the API with loading / error state. `reload()` fetches again while the
 * current data stays on screen (no skeleton flash); a new key shows nothing (a skeleton) until
 * its own data arrives; `set` patches the data locally (live
 * updates). A change of `key` aborts the request in flight and starts over.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { isAbort } from '../api/client.ts';

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  set: (update: (prev: T | undefined) => T | undefined) => void;
}

export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, key: string): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean; key: string }>({
    data: undefined,
    error: undefined,
    loading: true,
    key,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false, key });
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) return;
        setState((s) => ({ data: s.key === key ? s.data : undefined, error, loading: false, key }));
      },
    );
    return () => controller.abort();
  }, [key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const set = useCallback((update: (prev: T | undefined) => T | undefined) => setState((s) => ({ ...s, data: update(s.data) })), []);
  return { data: state.key === key ? state.data : undefined, error: state.key === key ? state.error : undefined, loading: state.loading || state.key !== key, reload, set };
}
