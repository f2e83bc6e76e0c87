/**
 * Seed 003's API as its README writes it, so its curl lines and browser snippet work against
 * Lakeray with only the base URL changed: a thin layer over one deployment's sessions, stats
 * and batch settings (the deployment `serving.seed003.deployment`, or the only one there is), of
 * the caller's tenant: every route acts on the tenant of the request's key (keyless on
 * loopback: `default`), and another tenant's session id is SESSION_NOT_FOUND.
 *   POST /init {agent_type, language_pair, client_id} → {session_id, …}   language_pair is the routing key
 *   GET  /queue_status/{session_id}                 the session's queue status
 *   POST /delete_session {session_id}               ends it
 *   WS   /wss/{session_id}                          binary chunks in, one JSON text per chunk out, EOF
 *   GET  /ray/stats                                 the deployment's stats (+ sessions open)
 *   POST /ray/configure {max_batch_size, batch_timeout_ms, enable_dynamic_batching}   live, next batch
 * (`GET /health` is health.ts's, which reports the sessions too.)
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import type { SessionManager } from '../../serving/sessions.ts';
import type { BatchSettings } from '../../serving/types.ts';
import { callerOf } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';
import { wsOnlyRoute } from '../ws-route.ts';
import { clientId, routingKey, sessionStatus, sessionView, streamSession } from './sessions.ts';

/** What the seed routes need of the deployment manager beyond the sessions: always one tenant's deployments. */
export interface Seed003Host {
  /** Names of the tenant's deployments. */
  deployments(tenant: string): string[];
  /** The deployment's stats (DeploymentStats); undefined when the tenant has no such deployment. */
  stats(tenant: string, deployment: string): object | undefined;
  /** Applies batch settings live (as PATCH /api/v1/deployments/{name} does) and returns them all. */
  reconfigure(tenant: string, deployment: string, settings: Partial<BatchSettings>): Promise<BatchSettings>;
}

export interface Seed003RoutesOptions {
  sessions: SessionManager;
  host: Seed003Host;
  /** The deployment serving these routes in each tenant (config `serving.seed003.deployment`); default: the tenant's only one. */
  deployment?: string;
}

const settingsBody = z
  .object({
    max_batch_size: z.number().int().min(1).max(65_536).optional(),
    batch_timeout_ms: z.number().min(0).max(60_000).optional(),
    enable_dynamic_batching: z.boolean().optional(),
  })
  .strict();

export const seed003Routes: FastifyPluginAsyncZod<Seed003RoutesOptions> = async (app, { sessions, host, deployment }) => {
  /** The caller's tenant's deployment these routes serve. */
  const served = (tenant: string): string => {
    const names = host.deployments(tenant);
    if (deployment !== undefined) {
      if (!names.includes(deployment))
        throw new LakerayError('DEPLOYMENT_NOT_FOUND', `the seed 003 routes serve deployment "${deployment}" (serving.seed003.deployment), which does not exist`);
      return deployment;
    }
    if (names.length === 1 && names[0] !== undefined) return names[0];
    throw new LakerayError(
      'DEPLOYMENT_NOT_FOUND',
      names.length === 0
        ? 'the seed 003 routes serve a deployment, and there is none: create one (POST /api/v1/deployments)'
        : `several deployments exist (${names.join(', ')}): name the one for the seed 003 routes in serving.seed003.deployment`,
    );
  };

  app.post(
    '/init',
    {
      schema: {
        tags: ['seed003'],
        summary: 'Open a streaming session (seed 003)',
        body: z.object({ agent_type: z.string().max(200).optional(), language_pair: routingKey.optional(), client_id: clientId.optional() }).strict(),
        response: { 200: sessionView.extend({ agent_type: z.string().nullable(), language_pair: z.string().nullable() }), ...errorResponses(400, 404, 429) },
      },
    },
    async (request) => {
      const { agent_type, language_pair, client_id } = request.body;
      const { tenant } = callerOf(request);
      const view = sessions.create(tenant, served(tenant), client_id ?? 'anonymous', language_pair);
      return { ...view, agent_type: agent_type ?? null, language_pair: language_pair ?? null };
    },
  );

  app.get(
    '/queue_status/:session_id',
    {
      schema: {
        tags: ['seed003'],
        summary: "A session's queue status (seed 003)",
        params: z.object({ session_id: z.string().min(1).max(200) }),
        response: { 200: sessionStatus, ...errorResponses(404) },
      },
    },
    async (request) => sessions.status(callerOf(request).tenant, request.params.session_id),
  );

  app.post(
    '/delete_session',
    {
      schema: {
        tags: ['seed003'],
        summary: 'End a session (seed 003)',
        body: z.object({ session_id: z.string().min(1).max(200) }).strict(),
        response: { 200: z.object({ session_id: z.string(), deleted: z.literal(true), chunks: z.number().int() }), ...errorResponses(400, 404) },
      },
    },
    async (request) => ({ session_id: request.body.session_id, deleted: true as const, chunks: sessions.delete(callerOf(request).tenant, request.body.session_id) }),
  );

  wsOnlyRoute(app, '/wss/:session_id', (socket, request) => streamSession(socket, sessions, callerOf(request).tenant, (request.params as { session_id: string }).session_id));

  app.get('/ray/stats', { schema: { tags: ['seed003'], summary: "The seed 003 deployment's stats" } }, async (request) => {
    const { tenant } = callerOf(request);
    const name = served(tenant);
    const stats = host.stats(tenant, name);
    if (!stats) throw new LakerayError('DEPLOYMENT_NOT_FOUND', `no deployment named "${name}"`);
    return { name, ...stats, sessions: { open: sessions.list(tenant, name).length, max: sessions.limit } };
  });

  app.post(
    '/ray/configure',
    { schema: { tags: ['seed003'], summary: 'Change batch settings live (seed 003)', body: settingsBody, response: { 200: z.object({ name: z.string(), settings: z.record(z.string(), z.unknown()) }), ...errorResponses(400, 404) } } },
    async (request) => {
      const { tenant } = callerOf(request);
      const name = served(tenant);
      const settings = await host.reconfigure(tenant, name, request.body);
      return { name, settings: { ...settings } };
    },
  );
};
