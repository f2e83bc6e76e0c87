/**
 * Service tasks through the API (docs/api.md, "Service tasks"): `GET /api/v1/services` lists
 * the caller's running services, and `/api/v1/services/{id}` and `/api/v1/services/{id}/…`
 * forward any request to the service's own HTTP server on this machine
 * (`http://127.0.0.1:<port>/…`): method, the path after the id, the query string as sent,
 * headers (minus hop-by-hop ones) and the body, streamed both ways and never parsed.
 *
 * The proxy routes live in an encapsulated plugin with one catch-all content-type parser that
 * hands the raw request stream on, so any media type passes (the rest of the API stays
 * JSON-only: its parsers are untouched). No schema validates them either: the body is the
 * service's business.
 *
 * Errors (JSON, as everywhere): unknown task 404 TASK_NOT_FOUND; not a service or not running
 * 409 SERVICE_NOT_RUNNING; running but not (yet, or again) healthy 503 SERVICE_NOT_READY with
 * Retry-After; the service refused or dropped the connection 503 SERVICE_NOT_READY when it is
 * restarting, else 502 SERVICE_UNREACHABLE.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Agent, request as upstreamRequest, type Dispatcher } from 'undici';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import type { ServiceEndpoint } from '../../domain/service.ts';
import type { Caller, TaskService } from '../../engine/task-service.ts';
import { callerOf } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';
import { serviceJson } from '../serialize.ts';

export interface ServiceRoutesOptions {
  tasks: TaskService;
  /** How long the proxy waits for a service's response headers (default 300 s). */
  upstreamTimeoutMs?: number;
}

export const SERVICES_PREFIX = '/api/v1/services';

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus ones we set. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'trailers', 'transfer-encoding', 'upgrade', 'expect', 'host',
]);

/** Seconds a client should wait before retrying a service that is not ready. */
const RETRY_AFTER_S = '1';

const servicePath = (id: string): string => `${SERVICES_PREFIX}/${encodeURIComponent(id)}/`;

/** The headers to forward: hop-by-hop ones, and any the Connection header names, are dropped. */
const forwardable = (headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> => {
  const named = headers.connection;
  const drop = typeof named === 'string' ? new Set(named.split(',').map((t) => t.trim().toLowerCase())) : null;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop?.has(name)) continue;
    out[name] = value;
  }
  return out;
};

/** `/api/v1/services/<id>/a/b?x=1` → `/a/b?x=1`, exactly as the client encoded it. */
const upstreamPath = (url: string): string => {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const afterPrefix = path.slice(SERVICES_PREFIX.length + 1); // "<id>" or "<id>/rest"
  const slash = afterPrefix.indexOf('/');
  return `${slash === -1 ? '/' : afterPrefix.slice(slash)}${q === -1 ? '' : url.slice(q)}`;
};

const hasBody = (request: FastifyRequest): boolean => {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
};

/** Errors that mean "nobody answered on that port" (a crash or a restart), not a slow service. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);

const errorCode = (err: unknown): string => {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  return typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : 'UNKNOWN';
};

const notReady = (reply: FastifyReply, id: string, endpoint: ServiceEndpoint | null): LakerayError => {
  reply.header('retry-after', RETRY_AFTER_S);
  const state = endpoint === null ? 'starting' : endpoint.state;
  return new LakerayError('SERVICE_NOT_READY', `Service '${id}' is ${state}; it has not passed its health check yet`);
};

const idParams = z.object({ id: z.string().min(1).max(200) }).strict();
const restParams = z.object({ id: z.string().min(1).max(200), '*': z.string() }).strict();

export const serviceRoutes: FastifyPluginAsyncZod<ServiceRoutesOptions> = async (app, { tasks, upstreamTimeoutMs = 300_000 }) => {
  // One pool of keep-alive connections to the services; bodies may stream for as long as they like.
  const agent = new Agent({ keepAliveTimeout: 4000, connect: { timeout: 5000 }, headersTimeout: upstreamTimeoutMs, bodyTimeout: 0 });
  app.addHook('onClose', async () => {
    await agent.close();
  });

  app.get(
    SERVICES_PREFIX,
    {
      schema: {
        tags: ['services'],
        summary: 'Running service tasks on this server',
        querystring: z.object({}).strict(),
        response: { 200: z.object({ services: z.array(serviceJson) }) },
      },
    },
    async (request) => {
      const running = await tasks.services(callerOf(request));
      return {
        services: running.map(({ task, endpoint }) => ({
          task_id: task.id,
          name: task.name,
          state: endpoint.state,
          port: endpoint.port,
          restarts: endpoint.restarts,
          url: servicePath(task.id),
        })),
      };
    },
  );

  const send = async (caller: Caller, id: string, request: FastifyRequest, reply: FastifyReply, endpoint: ServiceEndpoint): Promise<Dispatcher.ResponseData> => {
    const headers = forwardable(request.headers);
    const prefix = servicePath(id).slice(0, -1);
    headers['x-forwarded-for'] = [request.headers['x-forwarded-for'], request.ip].filter(Boolean).join(', ');
    headers['x-forwarded-host'] = request.headers.host ?? '';
    headers['x-forwarded-proto'] = request.protocol;
    headers['x-forwarded-prefix'] = prefix;
    const body = hasBody(request) ? (request.body instanceof Readable ? request.body : request.raw) : undefined;
    // The client went away: stop waiting on the service.
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const target = `${endpoint.url}${upstreamPath(request.url)}`;
    const attempt = () => upstreamRequest(target, { method: request.method as Dispatcher.HttpMethod, headers, body, dispatcher: agent, signal: abort.signal });
    let err: unknown;
    try {
      return await attempt();
    } catch (first) {
      err = first;
    }
    // A kept-alive connection to a previous incarnation may be dead: one retry when no body was consumed.
    if (body === undefined && !abort.signal.aborted && CONNECTION_ERRORS.has(errorCode(err))) {
      try {
        return await attempt();
      } catch (again) {
        err = again;
      }
    }
    if (abort.signal.aborted) throw err;
    const code = errorCode(err);
    if (CONNECTION_ERRORS.has(code)) {
      // Dead or restarting? Ask again: the supervisor knows.
      const now = await tasks.serviceEndpoint(caller, id);
      if (now === null || now.state !== 'ready') throw notReady(reply, id, now);
    }
    throw new LakerayError('SERVICE_UNREACHABLE', `Service '${id}' did not answer ${request.method} ${upstreamPath(request.url)}: ${code}`);
  };

  const proxy = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
    const caller = callerOf(request);
    const { id } = request.params;
    const endpoint = await tasks.serviceEndpoint(caller, id);
    if (endpoint === null || endpoint.state !== 'ready') throw notReady(reply, id, endpoint);
    const upstream = await send(caller, id, request, reply, endpoint);
    reply.code(upstream.statusCode);
    for (const [name, value] of Object.entries(forwardable(upstream.headers))) reply.header(name, value);
    const status = upstream.statusCode;
    if (request.method === 'HEAD' || status === 204 || status === 304 || status < 200) {
      await upstream.body.dump();
      return reply.send();
    }
    return reply.send(upstream.body);
  };

  await app.register(async (scoped) => {
    // Any media type, unparsed: the raw request stream goes to the service as it arrives.
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    const docs = {
      tags: ['services'],
      summary: 'Proxy to a running service task (any method, path, query, headers and body)',
      response: errorResponses(404, 409, 502, 503),
    };
    scoped.route({ method: METHODS, url: `${SERVICES_PREFIX}/:id`, schema: { ...docs, hide: true, params: idParams }, handler: proxy });
    scoped.route({ method: METHODS, url: `${SERVICES_PREFIX}/:id/*`, schema: { ...docs, params: restParams }, handler: proxy });
  });
};
