/**
 * Compiles a TaskInput into a Task in stages (temporal's style): defaults → validation
 * against the executor's capacity and the path policy → the stored form. Throws a
 * LakerayError for anything a client got wrong; nothing is written until every task of a
 * submission compiled.
 */
import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import type { Config } from '../config/schema.ts';
import { LakerayError } from '../domain/errors.ts';
import { nestsDeeperThan } from '../domain/json-depth.ts';
import { describe, fits, resources as toResources } from '../domain/resources.ts';
import { DEFAULT_RETRY } from '../domain/retry.ts';
import { DEFAULT_SERVICE } from '../domain/service.ts';
import type { Task, WebhookOptions } from '../domain/task.ts';
import type { Executor } from '../executors/executor.ts';
import { isLakeName, resolveDataPath, resolveScript, withBuiltinScriptRoots } from '../runtime/paths.ts';
import { newTaskId } from './ids.ts';
import type { TaskInput, WebhookInput } from './task-input.ts';
import { checkOutboundUrl } from '../net/url-policy.ts';

export interface SubmissionContext {
  config: Readonly<Config>;
  executors: ReadonlyMap<string, Executor>;
  /** Pool names per executor, to refuse an unknown pool at submit rather than at run. */
  pools: ReadonlyMap<string, ReadonlySet<string>>;
  defaultExecutor: string;
}

const SCRIPT_EXTENSIONS = new Set(['.py', '.js', '.mjs', '.ts', '.mts']);

/** Canonical JSON (sorted keys) so the same body always hashes the same. */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);

export const bodyHash = (input: TaskInput): string => {
  const { idempotency_key: _, ...rest } = input;
  return createHash('sha256').update(canonical(rest)).digest('hex');
};

const checkPath = (field: string, value: string | null | undefined, roots: readonly string[]): string | null => {
  if (value === undefined || value === null || value === '') return null; // "": none (seed 004's service task)
  if (isLakeName(value)) return value; // a dataset or model of the lake, not a file
  try {
    resolveDataPath(value, [...roots]);
  } catch (e) {
    if (e instanceof LakerayError) throw new LakerayError('INVALID_REQUEST', `${field}: ${e.message}`);
    throw e;
  }
  return value;
};

/** The webhook's URL (checked against the outbound URL policy) and its options. */
const compileWebhook = (hook: WebhookInput | null | undefined, allowPrivate: boolean): { url: string | null; options: WebhookOptions | null } => {
  if (hook === undefined || hook === null) return { url: null, options: null };
  const { url, events, secret } = typeof hook === 'string' ? { url: hook, events: undefined, secret: undefined } : hook;
  checkOutboundUrl(url, allowPrivate, 'webhook');
  return { url, options: events === undefined && secret === undefined ? null : { events: events ?? null, secret: secret ?? null } };
};

/**
 * A task's params are stored as JSON and decoded by its script's harness, both recursively:
 * bound their depth (the same limit as an API body, for callers that are not the API) and
 * their size. The depth goes first, so the size can be measured by JSON.stringify safely.
 */
function checkParams(params: Record<string, unknown> | undefined, config: Readonly<Config>): Record<string, unknown> {
  if (params === undefined) return {};
  const maxDepth = config.server.max_json_depth;
  if (nestsDeeperThan(params, maxDepth)) throw new LakerayError('INVALID_REQUEST', `params: nested more than ${maxDepth} levels deep (the limit is server.max_json_depth = ${maxDepth})`);
  let overflow: string | null = null;
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify would store as null: refuse it.
  const json = JSON.stringify(params, (key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) overflow ??= key;
    return value;
  });
  if (overflow !== null) throw new LakerayError('INVALID_REQUEST', `params: the number at "${overflow}" does not fit a 64-bit float (e.g. 1e400)`);
  const bytes = Buffer.byteLength(json);
  const maxBytes = config.tasks.max_params_bytes;
  if (bytes > maxBytes) throw new LakerayError('INVALID_REQUEST', `params: ${bytes} bytes of JSON is over the limit of ${maxBytes} (tasks.max_params_bytes); pass large data as input`);
  return params;
}

/**
 * `checkedScripts` memoizes script checks within one submission: a batch of 20,000 tasks of
 * the same script resolves it once.
 */
export function compileTask(input: TaskInput, tenant: string, ctx: SubmissionContext, now: number, checkedScripts = new Set<string>()): Task {
  const executorName = input.executor ?? ctx.defaultExecutor;
  const executor = ctx.executors.get(executorName);
  if (!executor) throw new LakerayError('UNKNOWN_EXECUTOR', `executor "${executorName}" is not configured (have: ${[...ctx.executors.keys()].join(', ')})`);

  if (!SCRIPT_EXTENSIONS.has(extname(input.script)))
    throw new LakerayError('INVALID_REQUEST', `script: "${input.script}" must be a .py, .js, .mjs, .ts or .mts file`);
  if (!checkedScripts.has(input.script)) {
    resolveScript(input.script, withBuiltinScriptRoots(ctx.config.script_roots));
    checkedScripts.add(input.script);
  }

  const params = checkParams(input.params, ctx.config);
  const pool = input.pool ?? null;
  const service = input.service ? { ...DEFAULT_SERVICE, ...input.service } : null;
  // A service's run() never returns: it must not hold a warm worker forever.
  if (service !== null && pool !== null) throw new LakerayError('INVALID_REQUEST', 'pool: a service task runs in a process of its own; leave pool unset');
  if (pool !== null && !ctx.pools.get(executorName)?.has(pool))
    throw new LakerayError('INVALID_REQUEST', `pool: no pool "${pool}" on executor "${executorName}"`);

  const d = ctx.config.tasks.default_resources;
  const r = input.resources ?? {};
  const res = toResources({ cpu: r.cpu ?? d.cpu, memory_mb: r.memory_mb ?? d.memory_mb, gpu: r.gpu ?? d.gpu, custom: r.custom ?? d.custom });
  // A task that can never run is refused now, not left queued forever: beyond what the
  // executor may ever place (an autoscaler's bound), else beyond what it has now. An executor
  // that is down (a Ray cluster not reachable, or not read yet since the start) cannot say
  // what it has: its tasks wait queued until it is back.
  const ceiling = executor.maxCapacity ?? executor.capacity;
  const unknown = executor.maxCapacity === undefined && executor.health?.().ok === false;
  if (!unknown && !fits(res, ceiling))
    throw new LakerayError(
      'RESOURCES_UNSATISFIABLE',
      `resources: asked for ${describe(res)} but executor "${executorName}" has ${describe(ceiling)} ${executor.maxCapacity ? 'at most' : 'in total'}`,
    );
  const unplaceable = unknown ? null : (executor.unplaceable?.(res) ?? null);
  if (unplaceable !== null) throw new LakerayError('RESOURCES_UNSATISFIABLE', `resources: asked for ${describe(res)} but on executor "${executorName}" ${unplaceable}`);

  const retry = { ...DEFAULT_RETRY, ...(input.retry ?? {}) };
  const webhook = compileWebhook(input.webhook, ctx.config.webhooks.allow_private);
  if (input.max_attempts !== undefined) retry.max_attempts = input.max_attempts;

  return {
    id: newTaskId(now),
    name: input.name ?? basename(input.script, extname(input.script)),
    script: input.script,
    input: checkPath('input', input.input, ctx.config.data_roots),
    output: checkPath('output', input.output, ctx.config.data_roots),
    params,
    executor: executorName,
    pool,
    resources: res,
    priority: input.priority ?? 0,
    // A service runs until cancelled: no default timeout (an explicit timeout_s still applies).
    timeout_s: input.timeout_s === undefined ? (service === null ? ctx.config.tasks.default_timeout_s : null) : input.timeout_s,
    retry,
    webhook: webhook.url,
    webhook_options: webhook.options,
    tenant,
    labels: input.labels ?? {},
    service,
    status: 'pending',
    attempt: 0,
    created_at: now,
    updated_at: now,
    started_at: null,
    finished_at: null,
    not_before: null,
    progress: null,
    result: null,
    error: null,
    lease_owner: null,
    lease_expires_at: null,
    assignment: null,
    idempotency_key: input.idempotency_key ?? null,
    last_seq: 0,
    cancel_reason: null,
  };
}
