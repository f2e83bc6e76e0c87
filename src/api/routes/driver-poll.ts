/**
 * The poll of a Ray actors-mode driver (docs/ray.md "Mode actors", domain/driver-poll.ts):
 *
 *   POST /api/v1/executors/{name}/driver/poll   Authorization: Bearer <executor token>
 *        {driver_id, running: [task ids], capacity: {pool: free slots}, busy?: {pool: busy slots}, done: [{task_id, attempt, error}]}
 *   →    {run: [{task_id, attempt, token, pool, job, package?}], cancel: [{task_id, grace_ms}], stop?}
 *
 * A long poll: the executor answers at once when it has work, else after its wait. The token
 * is the executor's own (TaskTokens.mintExecutor), given to the driver job it submitted: 401
 * without it. A valid token for an executor that is not (or no longer) in the config is 404,
 * on which the driver exits.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PolledExecutor } from '../../domain/driver-poll.ts';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskTokens } from '../../engine/task-tokens.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface DriverPollRoutesOptions {
  tokens: TaskTokens;
  /** The actors-mode executor of that name, if there is one. */
  drivers(name: string): PolledExecutor | undefined;
}

const taskId = z.string().min(1).max(200);
const pollBody = z
  .object({
    driver_id: z.string().min(1).max(300).describe("the driver's Ray submission id"),
    running: z.array(taskId).max(100_000).describe('task ids its actors run now'),
    capacity: z.record(z.string().min(1).max(200), z.number().int().min(0)).describe('free actor slots per pool'),
    busy: z.record(z.string().min(1).max(200), z.number().int().min(0)).optional().describe('busy actor slots per pool (tasks running on them)'),
    done: z
      .array(
        z
          .object({
            task_id: taskId,
            attempt: z.number().int().min(1),
            error: z.object({ code: z.string().min(1).max(100), message: z.string().max(64 * 1024) }).nullable(),
          })
          .strict(),
      )
      .max(100_000)
      .describe('tasks that ended; error set when the task could not report it itself'),
  })
  .strict();

const answer = z.object({
  run: z.array(
    z.object({ task_id: z.string(), attempt: z.number(), token: z.string(), pool: z.string(), job: z.record(z.string(), z.unknown()), package: z.string().optional() }),
  ),
  cancel: z.array(z.object({ task_id: z.string(), grace_ms: z.number() })),
  stop: z.boolean().optional(),
});

export const driverPollRoutes: FastifyPluginAsyncZod<DriverPollRoutesOptions> = async (app, { tokens, drivers }) => {
  app.post(
    '/api/v1/executors/:name/driver/poll',
    {
      schema: {
        tags: ['executors'],
        summary: 'The long poll of a Ray actors-mode driver: what it runs and what ended → runs and cancels for it (executor token required)',
        params: z.object({ name: z.string().min(1).max(200) }).strict(),
        body: pollBody,
        response: { 200: answer, ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
      if (token === undefined || !tokens.verifyExecutor(token, name)) {
        throw new LakerayError('UNAUTHORIZED', `The executor token of '${name}' is required (Authorization: Bearer $LAKERAY_EXECUTOR_TOKEN)`);
      }
      const executor = drivers(name);
      if (executor === undefined) throw new LakerayError('ROUTE_NOT_FOUND', `No executor '${name}' in mode actors here`);
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort()); // the driver went away while its poll was held
      return executor.poll(request.body, gone.signal);
    },
  );
};
