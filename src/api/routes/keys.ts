/**
 * API keys and the audit log for admins (docs/api.md "Authentication"), always within the
 * admin's own tenant: another tenant's key id is KEY_NOT_FOUND, as if it did not exist.
 *
 *   POST   /api/v1/keys        {role, expires?, name?}  →  201 {key, secret}   (the secret, once)
 *   GET    /api/v1/keys        →  {keys: [...]}   never a secret or a hash
 *   DELETE /api/v1/keys/{id}   →  204   revokes; the key is refused from the next request on
 *   GET    /api/v1/audit?limit&before   →  {entries: [...], next_before}   newest first
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createApiKey, type KeyStores, keyView, parseExpiry, revokeApiKey } from '../../auth/keys.ts';
import { LakerayError } from '../../domain/errors.ts';
import { ROLES } from '../../domain/roles.ts';
import { requireRole } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const keyJson = z.object({
  id: z.string(),
  tenant: z.string(),
  role: z.enum(ROLES),
  name: z.string().nullable(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
});

const createBody = z
  .object({
    role: z.enum(ROLES),
    expires: z.string().min(1).max(64).optional().describe('A duration from now (30d, 12h, 90m, 2w) or an ISO date; absent: never'),
    name: z.string().min(1).max(200).optional().describe('A label for people'),
  })
  .strict();

const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    before: z.coerce.number().int().min(1).optional().describe('next_before of the previous page'),
  })
  .strict();

const auditEntry = z.object({
  id: z.number().int(),
  ts: z.string(),
  key_id: z.string().nullable(),
  action: z.string(),
  target: z.string(),
  detail: z.unknown(),
});

type View = ReturnType<typeof keyView>;
const toJson = (k: View): z.infer<typeof keyJson> => ({
  ...k,
  created_at: iso(k.created_at)!,
  expires_at: iso(k.expires_at),
  revoked_at: iso(k.revoked_at),
  last_used_at: iso(k.last_used_at),
});

export const keyRoutes: FastifyPluginAsyncZod<{ stores: KeyStores }> = async (app, { stores }) => {
  app.post(
    '/api/v1/keys',
    {
      schema: {
        tags: ['auth'],
        summary: "Create an API key in the admin's tenant; the secret is in this answer only",
        body: createBody,
        response: { 201: z.object({ key: keyJson, secret: z.string().describe('Authorization: Bearer <secret>') }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const caller = requireRole(request, 'admin');
      const { role, expires, name } = request.body;
      const expiresAt = expires === undefined ? null : parseExpiry(expires);
      const { key, bearer } = await createApiKey(stores, caller, { tenant: caller.tenant, role, expiresAt, name: name ?? null });
      reply.code(201);
      return { key: toJson(key), secret: bearer };
    },
  );

  app.get(
    '/api/v1/keys',
    { schema: { tags: ['auth'], summary: "The admin tenant's API keys (never their secrets)", response: { 200: z.object({ keys: z.array(keyJson) }), ...errorResponses(401, 403) } } },
    async (request) => {
      const caller = requireRole(request, 'admin');
      return { keys: (await stores.keys.listKeys(caller.tenant)).map((k) => toJson(keyView(k))) };
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke an API key of the admin tenant',
        params: z.object({ id: z.string().min(1).max(64) }).strict(),
        response: { 204: z.null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const caller = requireRole(request, 'admin');
      if (!(await revokeApiKey(stores, caller, request.params.id, caller.tenant))) {
        throw new LakerayError('KEY_NOT_FOUND', `No live API key '${request.params.id}' in tenant '${caller.tenant}'`);
      }
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['auth'],
        summary: "The admin tenant's audit log, newest first",
        querystring: auditQuery,
        response: { 200: z.object({ entries: z.array(auditEntry), next_before: z.number().int().nullable() }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = requireRole(request, 'admin');
      const { limit, before } = request.query;
      const rows = await stores.audit.listAudit(caller.tenant, { limit, before });
      const entries = rows.map(({ tenant: _tenant, ...e }) => ({ ...e, ts: new Date(e.ts).toISOString() }));
      return { entries, next_before: rows.length === limit ? rows[rows.length - 1]!.id : null };
    },
  );
};
