/**
 * What a client may submit for a task. The API validates request bodies with this schema
 * and generates its OpenAPI document from it, so the two can never disagree. Unknown
 * fields are refused (strict objects): a typo must not be silently ignored.
 */
import { z } from 'zod';

const name = z.string().min(1).max(200).regex(/^[\w.:@/-]+$/, 'letters, digits and _ . : @ / - only');

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

export const taskInput = z
  .object({
    name: name.optional().describe('Defaults to the script file name'),
    script: z.string().min(1).max(1024).describe('Path of the script inside a script root'),
    input: z.string().min(1).max(4096).nullable().optional(),
    output: z.string().min(1).max(4096).nullable().optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    executor: z.string().min(1).max(64).optional(),
    pool: z.string().min(1).max(64).nullable().optional(),
    resources: resourcesInput.optional(),
    priority: z.number().int().min(-1000).max(1000).optional(),
    timeout_s: z.number().positive().max(30 * 86_400).nullable().optional(),
    max_attempts: z.number().int().min(1).max(100).optional().describe('Shorthand for retry.max_attempts'),
    retry: retryInput.optional(),
    webhook: z.url().max(2048).nullable().optional(),
    labels: z.record(z.string().max(64), z.string().max(256)).optional(),
    idempotency_key: z.string().min(1).max(256).optional(),
  })
  .strict();

export type TaskInput = z.infer<typeof taskInput>;

export const batchInput = z.object({ tasks: z.array(taskInput).min(1) }).strict();
