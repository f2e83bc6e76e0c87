/**
 * Task routes (DESIGN.md §8): create (one, or a batch all-or-nothing), list, get, cancel,
 * delete, logs. Request schemas are the engine's own zod schemas (engine/task-input.ts), so
 * validation and the OpenAPI document cannot disagree; every object is strict, so an unknown
 * field or query parameter is a 400, never silently ignored. Handlers only translate HTTP to
 * TaskService calls: all rules live in the engine.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TaskEvent } from '../../domain/events.ts';
import { LakerayError } from '../../domain/errors.ts';
import { TASK_STATUSES, type TaskStatus } from '../../domain/task.ts';
import { batchInput, type TaskInput, taskInput } from '../../engine/task-input.ts';
import type { TaskService } from '../../engine/task-service.ts';
import { auditRequest, callerOf } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';
import { type ExecutorDescriptions, logLine, logPage, prefersMinimal, taskBatch, taskJson, taskList, taskRefBatch, taskView, taskViews } from '../serialize.ts';

export interface TaskRoutesOptions {
  tasks: TaskService;
  maxBatch: number;
  /** The configured executors, for each task's placement (its dashboard link). */
  executors?: ExecutorDescriptions;
}

const idParams = z.object({ id: z.string().min(1).max(200) }).strict();

const idempotencyHeaders = z.looseObject({
  'idempotency-key': z.string().min(1).max(256).optional().describe('Replaying a key returns the original task (200)'),
});

const statusList = z
  .string()
  .refine((s) => s.split(',').every((x) => (TASK_STATUSES as readonly string[]).includes(x)), {
    message: `expected a comma-separated list of ${TASK_STATUSES.join(', ')}`,
  })
  .describe('Only tasks in these statuses (comma-separated)');

const listQuery = z
  .object({
    status: statusList.optional(),
    name: z.string().min(1).max(200).optional(),
    executor: z.string().min(1).max(64).optional(),
    cursor: z.string().min(1).max(512).optional().describe('next_cursor of the previous page'),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  })
  .strict();

const logsQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0).describe('Lines with seq > after'),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    format: z.enum(['json', 'text']).default('json'),
  })
  .strict();

/** The header and the body field name the same thing; two different keys are a client bug. */
function idempotencyKeyOf(header: string | undefined, input: TaskInput): string | undefined {
  const body = input.idempotency_key;
  if (header !== undefined && body !== undefined && header !== body)
    throw new LakerayError('INVALID_REQUEST', 'Idempotency-Key header and body.idempotency_key differ');
  return header ?? body;
}

export const taskRoutes: FastifyPluginAsyncZod<TaskRoutesOptions> = async (app, { tasks, maxBatch, executors }) => {
  const batchBody = batchInput.extend({ tasks: z.array(taskInput).min(1).max(maxBatch) });

  app.post(
    '/api/v1/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit a task',
        headers: idempotencyHeaders,
        body: taskInput,
        response: { 200: taskJson, 201: taskJson, ...errorResponses(400, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const key = idempotencyKeyOf(request.headers['idempotency-key'], request.body);
      const input = key === undefined ? request.body : { ...request.body, idempotency_key: key };
      const [result] = await tasks.submit(callerOf(request), [input], key);
      if (!result) throw new Error('TaskService.submit returned no result for one input');
      if (result.created) reply.code(201).header('location', `/api/v1/tasks/${result.task.id}`);
      return taskView(tasks, result.task, executors);
    },
  );

  app.post(
    '/api/v1/tasks/batch',
    {
      schema: {
        tags: ['tasks'],
        summary: `Submit up to ${maxBatch} tasks, all or nothing`,
        body: batchBody,
        response: { 200: z.union([taskBatch, taskRefBatch]), 201: z.union([taskBatch, taskRefBatch]), ...errorResponses(400, 409, 413, 415) },
      },
      // Up to max_batch tasks per response: validating our own output (built by serializeTask
      // to this very schema) cost a fifth of a batch submit. The schema still documents it.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request, reply) => {
      // One key cannot name N tasks; per-task keys go in each task's idempotency_key.
      if (request.headers['idempotency-key'] !== undefined)
        throw new LakerayError('INVALID_REQUEST', 'Idempotency-Key header is not accepted on batches; set idempotency_key per task');
      const results = await tasks.submit(callerOf(request), request.body.tasks);
      if (results.some((r) => r.created)) reply.code(201);
      // A client submitting thousands often needs only the ids: skip the full views (and
      // their queue positions), which cost more than the insert itself.
      if (prefersMinimal(request.headers.prefer)) {
        reply.header('preference-applied', 'return=minimal');
        return { tasks: results.map(({ task }) => ({ id: task.id, status: task.status })) };
      }
      return { tasks: await taskViews(tasks, results.map((r) => r.task), executors) };
    },
  );

  app.get(
    '/api/v1/tasks',
    { schema: { tags: ['tasks'], summary: 'List tasks (newest pages via cursor)', querystring: listQuery, response: { 200: taskList, ...errorResponses(400) } } },
    async (request) => {
      const q = request.query;
      const page = await tasks.list(callerOf(request), {
        status: q.status?.split(',') as TaskStatus[] | undefined,
        name: q.name,
        executor: q.executor,
        cursor: q.cursor,
        limit: q.limit,
      });
      return { tasks: await taskViews(tasks, page.tasks, executors), next_cursor: page.next_cursor };
    },
  );

  app.get(
    '/api/v1/tasks/:id',
    { schema: { tags: ['tasks'], summary: 'Get a task', params: idParams, response: { 200: taskJson, ...errorResponses(404) } } },
    async (request) => taskView(tasks, await tasks.get(callerOf(request), request.params.id), executors),
  );

  app.delete(
    '/api/v1/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Delete a finished task and its events',
        params: idParams,
        response: { 204: z.undefined().describe('Deleted'), ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      await tasks.delete(callerOf(request), request.params.id);
      await auditRequest(request, 'task.delete', request.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/tasks/:id/cancel',
    { schema: { tags: ['tasks'], summary: 'Cancel a queued or running task', params: idParams, response: { 200: taskJson, ...errorResponses(404, 409) } } },
    async (request) => taskView(tasks, await tasks.cancel(callerOf(request), request.params.id), executors),
  );

  app.get(
    '/api/v1/tasks/:id/logs',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Log lines (JSON page, or text/plain with ?format=text)',
        params: idParams,
        querystring: logsQuery,
        response: {
          200: { description: 'Log lines', content: { 'application/json': { schema: logPage }, 'text/plain': { schema: z.string() } } },
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const { after, limit, format } = request.query;
      const events = await tasks.events(callerOf(request), request.params.id, after, limit, ['log']);
      const next_seq = events.length > 0 ? (events[events.length - 1] as TaskEvent).seq : after;
      const lines = events.map(logLine);
      if (format === 'json') return { lines, next_seq };
      reply.type('text/plain; charset=utf-8').header('x-lakeray-next-seq', String(next_seq));
      return lines.map((l) => (l.message.endsWith('\n') ? l.message : `${l.message}\n`)).join('');
    },
  );
};
