/**
 * The API's view of tasks and events, with their zod response schemas (which also document
 * the responses in OpenAPI). The wire form differs from the stored Task on purpose:
 * timestamps are ISO-8601 strings, queued tasks carry their `queue_position`, and lease
 * bookkeeping (lease_owner, lease_expires_at, the worker pid) stays internal.
 *
 * Events are sent exactly as stored (`ts` in epoch milliseconds): they are the resumable log
 * clients index by `seq`, and the hot streaming path should not reshape them.
 */
import { z } from 'zod';
import { EVENT_TYPES, type TaskEvent } from '../domain/events.ts';
import { SERVICE_RESTART_POLICIES, SERVICE_STATES } from '../domain/service.ts';
import { type Task, TASK_STATUSES } from '../domain/task.ts';
import type { TaskService } from '../engine/task-service.ts';
import { type ExecutorDescription, placementJson, placementView } from './executor-view.ts';
import { redactUrl } from '../net/url-policy.ts';

/** The configured executors by name (for the placement's dashboard link). */
export type ExecutorDescriptions = ReadonlyMap<string, ExecutorDescription>;
const NONE: ExecutorDescriptions = new Map();

const isoTime = z.string().describe('ISO-8601 timestamp (UTC)');

const progressJson = z.object({
  fraction: z.number(),
  message: z.string().nullable(),
  step: z.number().optional(),
  total: z.number().optional(),
  eta_s: z.number().nullable().optional(),
});

export const serviceSpecJson = z
  .object({
    health_path: z.string(),
    restart: z.enum(SERVICE_RESTART_POLICIES),
    max_restarts: z.number(),
    startup_timeout_s: z.number(),
  })
  .describe('A service task: a long-running HTTP server reachable at /api/v1/services/{id}/ once healthy');

export const serviceJson = z
  .object({
    task_id: z.string(),
    name: z.string(),
    state: z.enum(SERVICE_STATES),
    port: z.number().describe('Port on the server machine (127.0.0.1)'),
    restarts: z.number().describe('Restarts so far in this attempt'),
    url: z.string().describe('Proxy path on this API: /api/v1/services/{id}/'),
  })
  .describe('A running service task');

export const taskJson = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(TASK_STATUSES),
    tenant: z.string(),
    script: z.string(),
    input: z.string().nullable(),
    output: z.string().nullable(),
    params: z.record(z.string(), z.unknown()),
    executor: z.string().describe('The executor that runs it (GET /api/v1/executors)'),
    placement: placementJson.nullable(),
    pool: z.string().nullable(),
    resources: z.object({ cpu: z.number(), memory_mb: z.number(), gpu: z.number(), custom: z.record(z.string(), z.number()) }),
    priority: z.number(),
    timeout_s: z.number().nullable(),
    retry: z.object({ max_attempts: z.number(), backoff_ms: z.number(), backoff_factor: z.number(), max_backoff_ms: z.number() }),
    webhook: z.string().nullable().describe('Scheme and host of the webhook URL (its path and query, where tokens live, are never shown)'),
    labels: z.record(z.string(), z.string()),
    service: serviceSpecJson.nullable().describe('Set for a service task (see docs/api.md, Service tasks)'),
    idempotency_key: z.string().nullable(),
    attempt: z.number().describe('Attempts started so far'),
    queue_position: z.number().nullable().describe('Queued tasks ahead of this one on its executor (0 = next); null unless queued'),
    gpus: z.array(z.string()).describe('GPU devices assigned to the running attempt'),
    progress: progressJson.nullable(),
    result: z.unknown().describe('What the script returned (completed tasks)'),
    error: z.object({ code: z.string(), message: z.string(), step: z.string().optional() }).nullable(),
    cancel_reason: z.string().nullable(),
    last_seq: z.number().describe('Sequence number of the newest event; resume streams after it'),
    created_at: isoTime,
    updated_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable().describe('When the task ended, in any terminal status'),
    completed_at: isoTime.nullable().describe('When the task ended if its status is `completed` (seed 004); null otherwise'),
    not_before: isoTime.nullable().describe('A retry waits in the queue until then'),
  })
  .describe('A task');

export type TaskJson = z.output<typeof taskJson>;

export const eventJson = z
  .object({
    task_id: z.string(),
    tenant: z.string(),
    seq: z.number().describe('Per-task, gap-free sequence number (progress may be coalesced for slow clients)'),
    type: z.enum(EVENT_TYPES),
    ts: z.number().describe('Epoch milliseconds'),
    data: z.record(z.string(), z.unknown()),
  })
  .describe('A task event');

export const taskList = z.object({ tasks: z.array(taskJson), next_cursor: z.string().nullable() });
export const taskBatch = z.object({ tasks: z.array(taskJson) });
/** A batch answered with `Prefer: return=minimal`: each task's id and status only. */
export const taskRefBatch = z.object({ tasks: z.array(z.object({ id: z.string(), status: z.string() })) }).describe('With Prefer: return=minimal');

/** Whether a `Prefer` header (RFC 7240) asks for `return=minimal`. */
export const prefersMinimal = (header: string | string[] | undefined): boolean =>
  (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .some((p) => p.split(';')[0]?.trim().toLowerCase().replace(/"/g, '') === 'return=minimal');
export const eventPage = z.object({ events: z.array(eventJson), next_seq: z.number() });
export const logPage = z.object({
  lines: z.array(z.object({ seq: z.number(), ts: isoTime, stream: z.string(), message: z.string() })),
  next_seq: z.number().describe('Pass as ?after= to read on'),
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

// Progress comes from scripts; normalise it so an odd field can never fail the response schema.
const progressOf = (p: Task['progress']): z.output<typeof progressJson> | null => {
  if (!p || typeof p.fraction !== 'number') return null;
  const out: z.output<typeof progressJson> = { fraction: p.fraction, message: typeof p.message === 'string' ? p.message : null };
  if (typeof p.step === 'number') out.step = p.step;
  if (typeof p.total === 'number') out.total = p.total;
  if (typeof p.eta_s === 'number' || p.eta_s === null) out.eta_s = p.eta_s;
  return out;
};

export function serializeTask(task: Task, queuePosition: number | null, executors: ExecutorDescriptions = NONE): TaskJson {
  return {
    id: task.id,
    name: task.name,
    status: task.status,
    tenant: task.tenant,
    script: task.script,
    input: task.input,
    output: task.output,
    params: task.params,
    executor: task.executor,
    placement: placementView(task.assignment?.placement, executors.get(task.executor)),
    pool: task.pool,
    resources: task.resources,
    priority: task.priority,
    timeout_s: task.timeout_s,
    retry: task.retry,
    webhook: task.webhook === null ? null : redactUrl(task.webhook),
    labels: task.labels,
    service: task.service ?? null,
    idempotency_key: task.idempotency_key,
    attempt: task.attempt,
    queue_position: task.status === 'pending' ? queuePosition : null,
    gpus: task.assignment?.gpus ?? [],
    progress: progressOf(task.progress),
    result: task.result ?? null,
    error: task.error ? { code: task.error.code, message: task.error.message, ...(task.error.step === undefined ? {} : { step: task.error.step }) } : null,
    cancel_reason: task.cancel_reason,
    last_seq: task.last_seq,
    created_at: iso(task.created_at) as string,
    updated_at: iso(task.updated_at) as string,
    started_at: iso(task.started_at),
    finished_at: iso(task.finished_at),
    completed_at: task.status === 'completed' ? iso(task.finished_at) : null,
    not_before: iso(task.not_before),
  };
}

/** Serializes with the live queue position (only asked for queued tasks). */
export const taskView = async (tasks: TaskService, task: Task, executors?: ExecutorDescriptions): Promise<TaskJson> =>
  (await taskViews(tasks, [task], executors))[0] as TaskJson;

/** Several tasks (a list page, a batch): one lookup gives every queued task its position. */
export const taskViews = async (tasks: TaskService, list: readonly Task[], executors?: ExecutorDescriptions): Promise<TaskJson[]> => {
  const queued = list.filter((t) => t.status === 'pending').map((t) => t.id);
  const positions = queued.length ? await tasks.queuePositions(queued) : new Map<string, number>();
  return list.map((task) => serializeTask(task, positions.get(task.id) ?? null, executors));
};

/** A log event as a line: stdout/stderr captured by the executor, or ctx.log from the script. */
export function logLine(ev: TaskEvent): { seq: number; ts: string; stream: string; message: string } {
  const d = ev.data;
  const stream = typeof d.stream === 'string' ? d.stream : typeof d.level === 'string' ? d.level : 'log';
  const message = typeof d.message === 'string' ? d.message : typeof d.line === 'string' ? d.line : JSON.stringify(d);
  return { seq: ev.seq, ts: new Date(ev.ts).toISOString(), stream, message };
}
