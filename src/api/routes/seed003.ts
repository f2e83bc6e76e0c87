/**
 * Seed 003's API as its README writes it, so its curl lines and browser snippet work against
 * Lakeray with only the base URL changed: a thin layer over one deployment's sessions, stats
 * and batch settings (the deployment `serving.seed003.deployment`, or the only one there is).
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
import { defaultTenantOnly } from '../default-tenant-only.ts';
import { errorResponses } from '../plugins/errors.ts';
import { clientId, routingKey, sessionStatus, sessionView, streamSession } from './sessions.ts';

/** What the seed routes need of the deployment manager beyond the sessions. */
export interface Seed003Host {
  /** Names of the deployments there are. */
  deployments(): string[];
  /** The deployment's stats (DeploymentStats); undefined when it does not exist. */
  stats(deployment: string): object | undefined;
  /** Applies batch settings live (as PATCH /api/v1/deployments/{name} does) and returns them all. */
  reconfigure(deployment: string, settings: Partial<BatchSettings>): Promise<BatchSettings>;
}

export interface Seed003RoutesOptions {
  sessions: SessionManager;
  host: Seed003Host;
  /** The deployment serving these routes (config `serving.seed003.deployment`); default: the only one. */
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
  defaultTenantOnly(app, (request) => ((request.params as { session_id?: string }).session_id !== undefined || (request.body as { session_id?: unknown } | undefined)?.session_id !== undefined ? 'SESSION_NOT_FOUND' : 'DEPLOYMENT_NOT_FOUND'));
  const served = (): string => {
    const names = host.deployments();
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
      const view = sessions.create(served(), client_id ?? 'anonymous', language_pair);
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
    async (request) => sessions.status(request.params.session_id),
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
    async (request) => ({ session_id: request.body.session_id, deleted: true as const, chunks: sessions.delete(request.body.session_id) }),
  );

  app.route({
    method: 'GET',
    url: '/wss/:session_id',
    schema: { hide: true },
    handler: async () => {
      throw new LakerayError('INVALID_REQUEST', 'this endpoint speaks WebSocket: send an Upgrade request');
    },
    wsHandler: (socket, request) => streamSession(socket, sessions, (request.params as { session_id: string }).session_id),
  });

  app.get('/ray/stats', { schema: { tags: ['seed003'], summary: "The seed 003 deployment's stats" } }, async () => {
    const name = served();
    const stats = host.stats(name);
    if (!stats) throw new LakerayError('DEPLOYMENT_NOT_FOUND', `no deployment named "${name}"`);
    return { name, ...stats, sessions: { open: sessions.list(name).length, max: sessions.limit } };
  });

  app.post(
    '/ray/configure',
    { schema: { tags: ['seed003'], summary: 'Change batch settings live (seed 003)', body: settingsBody, response: { 200: z.object({ name: z.string(), settings: z.record(z.string(), z.unknown()) }), ...errorResponses(400, 404) } } },
    async (request) => {
      const name = served();
      const settings = await host.reconfigure(name, request.body);
      return { name, settings: { ...settings } };
    },
  );
};
