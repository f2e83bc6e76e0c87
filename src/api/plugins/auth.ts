/**
 * Authentication and roles (docs/api.md "Authentication"): one onRequest hook, run before any
 * route (HTTP, SSE, WebSocket upgrades, the service proxy, artifacts, serving), puts the
 * request's caller on it (api/caller.ts) or answers 401/403/429.
 *
 * Credentials: `Authorization: Bearer <key>`, or on GET/HEAD `?access_token=<key>` for what a
 * browser cannot give headers to (EventSource, WebSocket, <img src>); the parameter is removed
 * before the route validates its query. A bearer is always checked, even where keyless is
 * allowed: an API key (lrk1.…), a running task's token (lrt1.…, engine/task-tokens.ts), which
 * makes the caller a member of the task's tenant, or a Ray Serve replica's model-read token
 * (lrm1.…), a viewer of its deployment's tenant; task-token-scope.ts narrows both further.
 *
 * Keyless requests: `none` allows them anywhere; `auto` only while the server is bound to
 * loopback (or not listening: inject()); `keys` never. Open without credentials: probes,
 * metrics, the OpenAPI pages, the web UI's files, unknown routes (404). The report, upload and
 * driver-poll routes check their own task/executor tokens and are left to them.
 *
 * Roles: a viewer may only read (GET/HEAD, which covers SSE and the events WebSocket);
 * admin-only routes call requireRole themselves. Rate limits apply to API keys only, in buckets
 * of this process or shared by every node in Redis (auth/rate-limit-setup.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { looksLikeApiKey } from '../../auth/api-key.ts';
import { Authenticator } from '../../auth/authenticator.ts';
import type { KeyStores } from '../../auth/keys.ts';
import { isLoopbackAddress } from '../../auth/binding.ts';
import { type RateLimit, RateLimiter } from '../../auth/rate-limit.ts';
import { type AuthConfig, DEFAULT_AUTH_CONFIG } from '../../config/auth-schema.ts';
import { LakerayError } from '../../domain/errors.ts';
import type { RequestCaller } from '../../engine/task-service.ts';
import type { TaskTokens } from '../../engine/task-tokens.ts';
import { KEYLESS_CALLER } from '../caller.ts';

export interface AuthOptions {
  config?: AuthConfig;
  /** Where API keys are looked up (and key changes audited); without it every API key is refused. */
  stores?: KeyStores;
  /** The tenant of a task (for its token); null when the task does not exist. */
  taskTenant?: (taskId: string) => Promise<string | null>;
  /** Where keys' rate-limit buckets live (auth/rate-limit-setup.ts); default: in this process. */
  limiter?: RateLimit;
}

/** Routes that need no credentials (route patterns as Fastify knows them). */
const OPEN_ROUTES = new Set(['/health', '/ready', '/metrics', '/', '/assets/*']);
/** Routes that check a task's or an executor's own token (remote-reports.ts, driver-poll.ts). */
const SELF_AUTHENTICATED = new Set(['POST /api/v1/tasks/:id/reports', 'PUT /api/v1/tasks/:id/artifacts/:name', 'POST /api/v1/executors/:name/driver/poll']);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** GET routes that write: the session WebSockets stream chunks into a session. */
const WRITES_BY_GET = new Set(['/wss/:session_id', '/api/v1/deployments/:name/sessions/:id/stream']);

const unauthorized = (message: string): LakerayError => new LakerayError('UNAUTHORIZED', message);

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw unauthorized('The Authorization header must be "Bearer <API key>"');
    return m[1];
  }
  const query = request.query as Record<string, unknown> | undefined;
  const token = query?.access_token;
  if (token === undefined) return undefined;
  delete query!.access_token;
  if (!READ_METHODS.has(request.method)) throw unauthorized('access_token is accepted on GET requests only; send Authorization: Bearer');
  if (typeof token !== 'string' || token === '') throw unauthorized('access_token must be one API key');
  return token;
}

export function installAuth(app: FastifyInstance, opts: AuthOptions & { tokens?: TaskTokens } = {}): void {
  const config = opts.config ?? DEFAULT_AUTH_CONFIG;
  const authenticator = opts.stores ? new Authenticator(opts.stores.keys) : null;
  const limiter = opts.limiter ?? new RateLimiter();
  const taskTenant = opts.taskTenant ?? (async () => KEYLESS_CALLER.tenant);

  // Where the server listens does not change once it listens: asked once (address() is a
  // getsockname per call, and this runs for every keyless request, each predict included).
  let boundLoopback: boolean | null = null;
  const keylessAllowed = (): boolean => {
    if (config.mode === 'none') return true;
    if (config.mode === 'keys') return false;
    if (boundLoopback !== null) return boundLoopback;
    const bound = app.server.address();
    if (bound === null) return true;
    boundLoopback = typeof bound === 'string' || isLoopbackAddress(bound.address);
    return boundLoopback;
  };

  const resolve = async (bearer: string): Promise<RequestCaller> => {
    if (looksLikeApiKey(bearer)) {
      if (!authenticator) throw unauthorized('This server keeps no API keys');
      const result = await authenticator.check(bearer);
      if (!result.ok) throw unauthorized(result.reason);
      return result.caller;
    }
    const claims = opts.tokens?.verify(bearer);
    if (claims) {
      const tenant = await taskTenant(claims.taskId);
      if (tenant !== null) return { tenant, role: 'member', key_id: null };
    }
    // A Ray Serve replica's model-read token: a reader of its tenant, narrowed further by task-token-scope.ts.
    const model = opts.tokens?.verifyModelRead(bearer);
    if (model) return { tenant: model.tenant, role: 'viewer', key_id: null };
    throw unauthorized('Invalid API key');
  };

  // The route checks the token fully (its attempt, whether the task runs); this refuses what
  // cannot be it before the body is even read, so no answer but 401 reaches a stranger.
  const checkOwnToken = (request: FastifyRequest): void => {
    if (!opts.tokens) return; // an app without tokens (tests): the route's own check is all
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    const params = request.params as { id?: string; name?: string };
    const ok =
      token !== undefined &&
      (params.id !== undefined ? opts.tokens.verify(token)?.taskId === params.id : params.name !== undefined && opts.tokens.verifyExecutor(token, params.name));
    if (!ok) throw unauthorized(params.id !== undefined ? `A task token of task '${params.id}' is required (Authorization: Bearer $LAKERAY_TASK_TOKEN)` : `The executor token of '${params.name}' is required (Authorization: Bearer $LAKERAY_EXECUTOR_TOKEN)`);
  };

  app.decorateRequest('caller', null);
  app.decorate('auditLog', opts.stores?.audit ?? null);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && SELF_AUTHENTICATED.has(`${request.method} ${route}`)) {
      checkOwnToken(request);
      return;
    }
    const open = request.is404 || route === undefined || OPEN_ROUTES.has(route) || route.startsWith('/docs');
    const bearer = bearerOf(request);
    if (bearer === undefined) {
      if (keylessAllowed()) request.caller = KEYLESS_CALLER;
      else if (!open) throw unauthorized('An API key is required: send Authorization: Bearer <key> (lakeray keys create makes one)');
      return;
    }
    const caller = await resolve(bearer);
    request.caller = caller;
    if (open) return;
    if (caller.role === 'viewer' && (!READ_METHODS.has(request.method) || WRITES_BY_GET.has(route!))) {
      throw new LakerayError('FORBIDDEN', `API key ${caller.key_id} is a viewer: it may only read (${request.method} needs the member role)`);
    }
    if (caller.key_id !== null) {
      const limit = config.tenant_rate_limits[caller.tenant] ?? config.rate_limit;
      let waitMs = limit ? limiter.take(caller.key_id, limit) : 0;
      if (typeof waitMs !== 'number') waitMs = await waitMs; // the shared buckets: one Redis round trip
      if (waitMs > 0) {
        reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
        throw new LakerayError('RATE_LIMITED', `API key ${caller.key_id} is over ${limit!.requests_per_second} requests/s (burst ${limit!.burst})`, undefined, waitMs);
      }
    }
  });
}
