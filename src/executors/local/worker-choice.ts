/**
 * Which worker of a pool takes a job (or holds a slot for one): a worker with a free slot (its
 * jobs and the slots held for reservations below its concurrency) that may see the job's
 * devices (a worker that initialized CUDA is bound to its device set) and belongs to the job's
 * tenant or to none yet (a worker is bound to one tenant for life), preferring a ready one, one
 * already bound to this tenant,
 * one bound to these very devices, the least loaded, then the most recently used (warmest
 * caches). One pass over the workers: this runs for every job.
 */
import type { PoolWorker } from './pool-worker.ts';

/** Is `a` a better choice than `b` for a job on `gpuKey`? (Ties keep the earlier worker.) */
const better = (a: PoolWorker, b: PoolWorker, gpuKey: string): boolean => {
  const readyA = a.state === 'ready';
  if (readyA !== (b.state === 'ready')) return readyA; // a ready worker starts the job now
  const boundA = a.tenant !== null;
  if (boundA !== (b.tenant !== null)) return boundA; // keep unbound workers for other tenants
  const pinnedA = a.pinnedGpuKey === gpuKey;
  if (pinnedA !== (b.pinnedGpuKey === gpuKey)) return pinnedA; // keep pinned workers for their own devices
  const loadA = a.jobs.size + a.reserved;
  const loadB = b.jobs.size + b.reserved;
  if (loadA !== loadB) return loadA < loadB; // spread concurrent jobs
  return a.lastUsed > b.lastUsed;
};

/** A worker bound elsewhere (other devices, another tenant) that a job on `gpuKey` of `tenant` cannot use. */
export const boundElsewhere = (w: PoolWorker, gpuKey: string, tenant: string): boolean =>
  (w.pinnedGpuKey !== null && w.pinnedGpuKey !== gpuKey) || (w.tenant !== null && w.tenant !== tenant);

/** `ready`: only a worker that has finished starting (a reservation must not wait for one). */
export function pickWorker(workers: Iterable<PoolWorker>, gpuKey: string, tenant: string, ready: boolean): PoolWorker | undefined {
  let best: PoolWorker | undefined;
  for (const w of workers) {
    if (!w.usable || w.jobs.size + w.reserved >= w.concurrency || boundElsewhere(w, gpuKey, tenant)) continue;
    if (ready && w.state !== 'ready') continue;
    if (best === undefined || better(w, best, gpuKey)) best = w;
  }
  return best;
}
