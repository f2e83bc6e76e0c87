/**
 * A task's resource vector as a Ray job's entrypoint resources. The harness runs as the job's
 * entrypoint, so what the task asked for is what the entrypoint reserves on the cluster.
 * Zero dimensions are left out; a job with no entrypoint resources at all is pinned to the
 * head node by Ray (CONTRACTS.md §1.2), which is what a task asking for nothing gets.
 * `entrypoint_memory` is bytes and must be an integer (a float is a 400).
 */
import type { Resources } from '../../domain/resources.ts';
import type { RaySubmitRequest } from './jobs-client.ts';

export type EntrypointResources = Pick<
  RaySubmitRequest,
  'entrypoint_num_cpus' | 'entrypoint_num_gpus' | 'entrypoint_memory' | 'entrypoint_resources'
>;

export function entrypointResources(r: Resources): EntrypointResources {
  const out: EntrypointResources = {};
  if (r.cpu > 0) out.entrypoint_num_cpus = r.cpu;
  if (r.gpu > 0) out.entrypoint_num_gpus = r.gpu;
  if (r.memory_mb > 0) out.entrypoint_memory = Math.ceil(r.memory_mb * 1024 * 1024);
  const custom = Object.entries(r.custom).filter(([, v]) => v > 0);
  if (custom.length > 0) out.entrypoint_resources = Object.fromEntries(custom);
  return out;
}
