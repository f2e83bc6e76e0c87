/**
 * What the API shows of executors and of where a task runs (docs/api.md "Executors" and
 * "Placement"): a task's placement as a stable, per-kind shape with a link to the Ray
 * dashboard, and the executors' listing the UI reads.
 *
 * The stored placement (task.assignment.placement) is the executor's own bookkeeping for a
 * later server instance; it is never sent as it is. Only the fields below leave the server:
 * no pid, no token, no file path, and a URL never keeps a `user:password@` or a query.
 *
 *   process    {kind}                                        a local process
 *   ray-job    {kind, submission_id, dashboard_url}           one Ray job per attempt
 *   ray-actor  {kind, pool, driver, actor_id?, dashboard_url} a warm actor of a driver job
 *   other      {kind}
 *
 * The dashboard link: the executor's configured `dashboard_url` (the dashboard as browsers
 * reach it, e.g. behind an ingress), else the address the placement names. Ray 2.58's
 * dashboard routes a job as `#/jobs/<submission id>` and an actor as `#/actors/<actor id>`;
 * an actor whose id is not known links to its driver job.
 */
import { z } from 'zod';
import type { ExecutorsConfig } from '../config/schema.ts';
import type { Placement } from '../domain/task.ts';

/** An executor as the API describes it, from the config (health and capacity come live from the engine). */
export interface ExecutorDescription {
  name: string;
  kind: string;
  /** Ray: 'job' | 'actors'; null for kinds without modes. */
  mode: string | null;
  /** The dashboard as browsers reach it: config `dashboard_url`, else `address`; null without one. */
  dashboard_url: string | null;
  /** dashboard_url was configured: it wins over the address a task's placement names. */
  dashboard_configured: boolean;
}

export const placementJson = z
  .object({
    kind: z.string().describe('process | ray-job | ray-actor'),
    submission_id: z.string().optional().describe('ray-job: the Ray job of this attempt'),
    pool: z.string().optional().describe('ray-actor: the actor pool'),
    driver: z.string().nullable().optional().describe('ray-actor: the submission id of the driver job'),
    actor_id: z.string().optional().describe('ray-actor: the Ray actor, when known'),
    dashboard_url: z.string().nullable().optional().describe('ray-*: the job or actor on the Ray dashboard'),
  })
  .describe('Where the task runs or ran (its latest attempt); null until it is placed');

export type PlacementJson = z.output<typeof placementJson>;

export const executorJson = z
  .object({
    name: z.string(),
    kind: z.string().describe('local | ray'),
    mode: z.string().nullable().describe('ray: job | actors'),
    health: z.object({ ok: z.boolean(), message: z.string().nullable() }).describe('Down: its tasks wait queued'),
    capacity: z.record(z.string(), z.number()).describe('What it can place now (cpu, memory_mb, gpu, custom resources)'),
    used: z.record(z.string(), z.number()).describe('What running tasks hold of it'),
    dashboard_url: z.string().nullable().describe('ray: the Ray dashboard'),
    node: z
      .object({
        owner: z.string().describe('The scheduler process that owns it'),
        epoch: z.number().int().describe('Its ownership epoch (the fencing token)'),
        lease: z.enum(['held', 'lapsed']).describe('lapsed: its owner stopped renewing; another node recovers its tasks'),
        expires_at: z.number().int().describe('Epoch ms: the ownership lapses then unless renewed'),
      })
      .optional()
      .describe('A node-scoped executor (`local@<node>`, shared store only): its ownership'),
    load: z
      .object({ queued: z.number().int(), running: z.number().int().describe('running or cancelling') })
      .optional()
      .describe('Shared store only: its tasks now (a shared queue: queued ones not yet taken by a node)'),
  })
  .describe('An executor');

export type ExecutorJson = z.output<typeof executorJson>;

export const executorList = z.object({ executors: z.array(executorJson) });

/** An http(s) URL without credentials, query or fragment, and without a trailing slash; null if it is none. */
export function publicUrl(address: unknown): string | null {
  if (typeof address !== 'string') return null;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** A message with any URL's `user:password@` removed (a health message names the address). */
export const withoutCredentials = (message: string): string => message.replace(/(\/\/)[^/\s@]+@/g, '$1');

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The placement as the API shows it; `executor` is the task's executor's description, if configured. */
export function placementView(placement: Placement | undefined, executor: ExecutorDescription | undefined): PlacementJson | null {
  if (placement === undefined || typeof placement.kind !== 'string') return null;
  const base = executor?.dashboard_configured ? executor.dashboard_url : (publicUrl(placement.address) ?? executor?.dashboard_url ?? null);
  const link = (path: string): string | null => (base === null ? null : `${base}/#/${path}`);
  switch (placement.kind) {
    case 'ray-job': {
      const id = str(placement.submission_id);
      return { kind: 'ray-job', submission_id: id ?? '', dashboard_url: id === undefined ? null : link(`jobs/${encodeURIComponent(id)}`) };
    }
    case 'ray-actor': {
      const actor = str(placement.actor_id);
      const driver = str(placement.driver) ?? null;
      const dashboard_url = actor !== undefined ? link(`actors/${encodeURIComponent(actor)}`) : driver !== null ? link(`jobs/${encodeURIComponent(driver)}`) : null;
      return { kind: 'ray-actor', pool: str(placement.pool) ?? '', driver, ...(actor === undefined ? {} : { actor_id: actor }), dashboard_url };
    }
    default:
      return { kind: placement.kind };
  }
}

/** The configured executors as the API describes them (`local` first). */
export function describeExecutors(config: ExecutorsConfig): ExecutorDescription[] {
  return Object.entries(config).map(([name, entry]) => {
    if (name === 'local' || !('kind' in entry)) return { name, kind: 'local', mode: null, dashboard_url: null, dashboard_configured: false };
    const configured = publicUrl(entry.dashboard_url);
    return { name, kind: entry.kind, mode: entry.mode, dashboard_url: configured ?? publicUrl(entry.address), dashboard_configured: configured !== null };
  });
}
