/**
 * The executors (GET /api/v1/executors), re-read every few seconds so a Ray cluster that goes
 * down, or comes back, shows without a page reload. A failed read keeps the last listing.
 */
import { useEffect } from 'react';
import { api } from '../api/client.ts';
import type { ExecutorInfo } from '../api/types.ts';
import { useResource } from './useResource.ts';

const REFRESH_MS = 5000;

export function useExecutors(): ExecutorInfo[] {
  const listing = useResource((signal) => api.executors(signal), 'executors');
  const { reload } = listing;
  useEffect(() => {
    const t = setInterval(reload, REFRESH_MS);
    return () => clearInterval(t);
  }, [reload]);
  return listing.data?.executors ?? [];
}
