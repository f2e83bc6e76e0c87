/**
 * Who is calling. Routes never decide a tenant themselves: they ask `callerOf(request)` and
 * hand the result to the engine, which scopes every read and write to that tenant (another
 * tenant's task is simply TASK_NOT_FOUND).
 *
 * Until authentication exists every request is the `default` tenant. When the auth plugin
 * lands (api/plugins/auth.ts) it resolves the API key to a tenant and this function reads
 * it from the request; nothing else in api/ changes.
 *
 * An `X-Lakeray-Tenant` header is deliberately NOT honoured: with no authentication behind
 * it, any client could read, cancel and delete every tenant's tasks just by naming them.
 */
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../engine/task-service.ts';

export const DEFAULT_TENANT = 'default';

const DEFAULT_CALLER: Caller = Object.freeze({ tenant: DEFAULT_TENANT });

export function callerOf(_request: FastifyRequest): Caller {
  return DEFAULT_CALLER;
}
