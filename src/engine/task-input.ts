/**
 * What a client may submit for a task. The API validates request bodies with this schema
 * and generates its OpenAPI document from it, so the two can never disagree. Unknown
 * fields are refused (strict objects): a typo must not be silently ignored.
 */
import { z } from 'zod';
import { DEFAULT_SERVICE, SERVICE_RESTART_POLICIES } from '../domain/service.ts';
import { WEBHOOK_EVENTS } from '../domain/task.ts';

/**
 * A task name: Unicode letters (with their combining marks) and digits in any script, and
 * _ . : @ / -. No spaces, control, format (bidi) or quote characters, so a name is safe
 * as it is in a log line, a terminal, a file name part or a metrics label.
 */
export const TASK_NAME_RULE = 'letters and digits of any script (with their accents), and _ . : @ / - (no spaces)';
export const TASK_NAME = /^[\p{L}\p{M}\p{N}_.:@/-]+$/u;
const name = z.string().min(1).max(200).regex(TASK_NAME, TASK_NAME_RULE);

export const resourcesInput = z
  .object({
    cpu: z.number().nonnegative().max(1024).optional(),
    memory_mb: z.number().nonnegative().optional(),
    gpu: z.number().int().nonnegative().max(64).optional(),
    custom: z.record(z.string().min(1).max(64), z.number().nonnegative()).optional(),
  })
  .strict();

export const retryInput = z
  .object({
    max_attempts: z.number().int().min(1).max(100).optional(),
    backoff_ms: z.number().int().nonnegative().max(3_600_000).optional(),
    backoff_factor: z.number().min(1).max(10).optional(),
    max_backoff_ms: z.number().int().nonnegative().max(86_400_000).optional(),
  })
  .strict();

export const serviceInput = z
  .object({
    health_path: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^\/[^\s#]*$/, 'a path starting with /, without spaces or #')
      .optional()
      .describe(`Probed with GET until it answers 2xx (default ${DEFAULT_SERVICE.health_path})`),
    restart: z
      .enum(SERVICE_RESTART_POLICIES)
      .optional()
      .describe(`When to restart the process after it ends (default ${DEFAULT_SERVICE.restart})`),
    max_restarts: z.number().int().min(0).max(1000).optional().describe(`Restarts before the task fails (default ${DEFAULT_SERVICE.max_restarts})`),
    startup_timeout_s: z
      .number()
      .positive()
      .max(86_400)
      .optional()
      .describe(`Each start must pass the health check within this time, else SERVICE_UNHEALTHY (default ${DEFAULT_SERVICE.startup_timeout_s})`),
  })
  .strict()
  .describe('Makes the task a long-running HTTP service, reachable at /api/v1/services/{id}/ once healthy');

const webhookUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** A webhook: its URL, or {url, events, secret} (webhooks/notifier.ts, docs/api.md#webhooks). */
export const webhookInput = z
  .union([
    webhookUrl,
    z
      .object({
        url: webhookUrl,
        events: z
          .array(z.enum(WEBHOOK_EVENTS))
          .min(1)
          .optional()
          .describe(`Events to deliver (default: all of ${WEBHOOK_EVENTS.join(', ')})`),
        secret: z.string().min(1).max(512).optional().describe('HMAC-SHA256 key for X-Lakeray-Signature (default: the configured webhooks.secret)'),
      })
      .strict(),
  ], { error: `expected an http(s) URL, or {url, events?: [${WEBHOOK_EVENTS.map((e) => `"${e}"`).join(', ')}], secret?}` })
  .describe('POSTed JSON on start, progress (throttled) and completion, signed with X-Lakeray-Signature');

export type WebhookInput = z.infer<typeof webhookInput>;

/**
 * A task's input or output: a lake name or a path in a data root. `""` means none, like null:
 * seed 004's service task writes `"output": ""` (engine/submission.ts stores it as null).
 */
const dataRef = z.string().max(4096).nullable().describe('A lake name (mnist_clean) or a path in a data root; "" or null: none');

export const taskInput = z
  .object({
    name: name.optional().describe('Defaults to the script file name'),
    script: z.string().min(1).max(1024).describe('Path of the script inside a script root'),
    input: dataRef.optional(),
    output: dataRef.optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    executor: z.string().min(1).max(64).optional(),
    pool: z.string().min(1).max(64).nullable().optional(),
    resources: resourcesInput.optional(),
    priority: z.number().int().min(-1000).max(1000).optional(),
    timeout_s: z.number().positive().max(30 * 86_400).nullable().optional(),
    max_attempts: z.number().int().min(1).max(100).optional().describe('Shorthand for retry.max_attempts'),
    retry: retryInput.optional(),
    webhook: webhookInput.nullable().optional(),
    labels: z.record(z.string().max(64), z.string().max(256)).optional(),
    idempotency_key: z.string().min(1).max(256).optional(),
    service: serviceInput.nullable().optional(),
  })
  .strict();

export type TaskInput = z.infer<typeof taskInput>;

export const batchInput = z.object({ tasks: z.array(taskInput).min(1) }).strict();
