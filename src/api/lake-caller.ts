/**
 * Who is reading or writing the lake: a client (its tenant from callerOf), or a running task
 * proving it is one with its own token (`Authorization: Bearer $LAKERAY_TASK_TOKEN`, which the
 * Python and Node lake clients send).
 *
 * Threat model: `X-Lakeray-Task` names the task whose pins and lineage a request uses. Alone it
 * proves nothing (anyone can type a task id), so it is honoured only together with that very
 * task's token, for the attempt that runs now; otherwise 401 UNAUTHORIZED. A task's token acts
 * as its task's tenant: a script reaches its own tenant's namespace and nobody else's, and one
 * tenant's task id (or token) never reaches another tenant's tables or pins.
 */
import type { FastifyRequest } from 'fastify';
import { LakerayError } from '../domain/errors.ts';
import type { Task } from '../domain/task.ts';
import type { TaskTokens } from '../engine/task-tokens.ts';
import { callerOf } from './caller.ts';

export interface LakeCaller {
  tenant: string;
  /** The running task making the request (its token checked), if any. */
  task: string | undefined;
}

export interface LakeCallerDeps {
  tokens?: TaskTokens;
  /** The task of an id, any tenant's (the token decides whose it is). */
  taskOf(id: string): Promise<Task | null>;
}

const TASK_TOKEN_PREFIX = 'lrt1.';

const bearerOf = (request: FastifyRequest): string | undefined => {
  const auth = request.headers.authorization;
  const m = auth === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m?.[1];
};

const unauthorized = (message: string): LakerayError => new LakerayError('UNAUTHORIZED', message);

export async function lakeCallerOf(request: FastifyRequest, deps: LakeCallerDeps): Promise<LakeCaller> {
  const header = request.headers['x-lakeray-task'];
  const named = typeof header === 'string' && header !== '' ? header : undefined;
  const bearer = bearerOf(request);
  if (bearer === undefined || !bearer.startsWith(TASK_TOKEN_PREFIX)) {
    if (named !== undefined) throw unauthorized("X-Lakeray-Task needs that task's own token (Authorization: Bearer $LAKERAY_TASK_TOKEN)");
    return { tenant: callerOf(request).tenant, task: undefined };
  }
  const claims = deps.tokens?.verify(bearer) ?? null;
  if (claims === null) throw unauthorized('the task token is not valid on this server');
  if (named !== undefined && named !== claims.taskId) throw unauthorized("X-Lakeray-Task names another task than the token's");
  const task = await deps.taskOf(claims.taskId);
  if (task === null || task.attempt !== claims.attempt) throw unauthorized("the task token's task or attempt is not the one running");
  return { tenant: task.tenant, task: task.id };
}
