/**
 * Who is calling. Routes never decide a tenant themselves: they ask `callerOf(request)` and
 * hand the result to the engine, which scopes every read and write to that tenant (another
 * tenant's task is simply TASK_NOT_FOUND).
 *
 * The auth plugin (api/plugins/auth.ts) resolves the request's credentials before any route
 * runs and puts the caller on the request: an API key's tenant and role, a running task's
 * tenant for its task token, or `{tenant: 'default', role: 'admin', key_id: null}` for a
 * keyless request where keyless is allowed (loopback in auth mode `auto`, or mode `none`).
 *
 * An `X-Lakeray-Tenant` header is deliberately NOT honoured: the tenant is whatever the
 * credentials say, never what the client names.
 */
import type { FastifyRequest } from 'fastify';
import { audit, type AuditSink } from '../auth/audit.ts';
import { LakerayError } from '../domain/errors.ts';
import { type Role, roleAllows } from '../domain/roles.ts';
import type { RequestCaller } from '../engine/task-service.ts';

export const DEFAULT_TENANT = 'default';

/** A keyless caller where keyless is allowed: README's commands on loopback. */
export const KEYLESS_CALLER: RequestCaller = Object.freeze({ tenant: DEFAULT_TENANT, role: 'admin', key_id: null });

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin; null on the open routes (probes, the web UI's files) when no credentials came. */
    caller: RequestCaller | null;
  }
  interface FastifyInstance {
    /** Where auditRequest writes (the auth plugin's stores); null: an app without a store (tests). */
    auditLog: AuditSink | null;
  }
}

export function callerOf(request: FastifyRequest): RequestCaller {
  // Fail closed: a route that asks for a caller the plugin did not resolve gets none.
  if (!request.caller) throw new LakerayError('UNAUTHORIZED', 'An API key is required (Authorization: Bearer <key>)');
  return request.caller;
}

/** The caller, when its role is at least `role`; else 403 FORBIDDEN. */
export function requireRole(request: FastifyRequest, role: Exclude<Role, 'viewer'>): RequestCaller {
  const caller = callerOf(request);
  if (!roleAllows(caller.role, role)) {
    throw new LakerayError('FORBIDDEN', `This needs the ${role} role; the ${caller.key_id === null ? 'caller' : `key ${caller.key_id}`} is a ${caller.role}`);
  }
  return caller;
}

/**
 * Records an admin action of the request's caller in its tenant's audit log (GET /api/v1/audit):
 * one line in a route, after the action succeeded. Nothing when the app keeps no audit log.
 */
export async function auditRequest(request: FastifyRequest, action: string, target: string, detail?: unknown): Promise<void> {
  const sink = request.server.auditLog;
  if (sink) await audit(sink, callerOf(request), action, target, detail);
}
