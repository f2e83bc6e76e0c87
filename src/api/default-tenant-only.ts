/**
 * Routes over state that has no tenant of its own yet: the streaming sessions and seed 003's
 * routes (they serve the `default` tenant's deployments: SessionManager's host is that
 * tenant's) and the serving evaluation reports (written by the operator's `lakeray eval
 * serve`). To any other tenant they answer as if nothing were there: 404 with the object's
 * usual NOT_FOUND code, an empty list (docs/security.md), never a 403 that confirms it exists.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ErrorCode, LakerayError } from '../domain/errors.ts';
import { callerOf, DEFAULT_TENANT } from './caller.ts';

export const isDefaultTenant = (request: FastifyRequest): boolean => callerOf(request).tenant === DEFAULT_TENANT;

/** Every route of `app` (a plugin's scope) answers `notFound(request)` to a tenant other than `default`. */
export function defaultTenantOnly(app: FastifyInstance, notFound: (request: FastifyRequest) => ErrorCode): void {
  app.addHook('preHandler', async (request) => {
    if (!isDefaultTenant(request)) throw new LakerayError(notFound(request), 'not found');
  });
}
