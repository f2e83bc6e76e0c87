/**
 * Every error the HTTP API returns has one shape, `{"error": {"code", "message"}}`, with the
 * status from the error registry (domain/errors.ts). This file maps whatever went wrong —
 * a LakerayError from the engine, a zod validation failure, a Fastify framework error
 * (malformed JSON, body too large, wrong content type, bad URL), an unknown route, a method
 * a known route does not take, a malformed HTTP request, or a plain bug — onto that shape.
 * Bugs become a generic 500 that is logged with its stack; the stack never reaches the client.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ERRORS, type ErrorCode, LakerayError } from '../../domain/errors.ts';

export const errorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .describe('Every error response: a stable code from the error registry and a readable message');

/** Response schemas for the error statuses a route can return, so OpenAPI documents them. */
export const errorResponses = (...statuses: number[]): Record<number, typeof errorBody> =>
  Object.fromEntries(statuses.map((s) => [s, errorBody]));

export interface ApiError {
  status: number;
  code: ErrorCode;
  message: string;
}

const apiError = (code: ErrorCode, message?: string): ApiError => ({ status: ERRORS[code].status, code, message: message ?? ERRORS[code].message });

/** A zod (or ajv) issue, reduced to what a message needs. */
export interface IssueLike {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  keys?: readonly string[];
}

const formatPath = (root: string, path: readonly PropertyKey[]): string =>
  path.reduce<string>((out, seg) => (typeof seg === 'number' || /^\d+$/.test(String(seg)) ? `${out}[${String(seg)}]` : `${out}.${String(seg)}`), root);

// zod's "Invalid input: expected number, received string" reads better without its preamble.
const tidy = (message: string): string => message.replace(/^Invalid input: /, '');

/** "body.resources.gpu: expected number, received string; body.foo: unknown field". */
export function describeIssues(issues: readonly IssueLike[], root: string): string {
  const parts: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys && issue.keys.length > 0) {
      for (const key of issue.keys) parts.push(`${formatPath(root, [...issue.path, key])}: unknown field`);
    } else parts.push(`${formatPath(root, issue.path)}: ${tidy(issue.message)}`);
  }
  // A body with thousands of bad items must not produce a megabyte of error text.
  const shown = parts.slice(0, 10);
  if (parts.length > shown.length) shown.push(`… and ${parts.length - shown.length} more`);
  return shown.join('; ');
}

interface ValidationItem {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: { keys?: unknown };
}

/** Fastify validation errors carry issues as `/a/0/b` paths (from the zod type provider or ajv). */
const validationMessage = (items: readonly ValidationItem[], context: string): string =>
  describeIssues(
    items.map((v) => ({
      path: (v.instancePath ?? '').split('/').filter((s) => s.length > 0),
      message: v.message ?? 'invalid',
      code: v.keyword ?? '',
      keys: Array.isArray(v.params?.keys) ? v.params.keys.map(String) : [],
    })),
    context,
  );

// Fastify framework errors that are the client's fault, by code.
const FRAMEWORK: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_BAD_URL: 'INVALID_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'INVALID_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'INVALID_REQUEST',
};

// Other client-error statuses Fastify may set, mapped to the registry.
const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'NOT_READY',
};

/** Pure mapping from anything thrown to the API error. Unknown errors are INTERNAL_ERROR. */
export function toApiError(err: unknown): ApiError {
  // An engine INTERNAL_ERROR may carry internals in its message (e.g. an illegal transition).
  if (err instanceof LakerayError) return err.code === 'INTERNAL_ERROR' ? apiError(err.code) : { status: err.status, code: err.code, message: err.message };
  if (typeof err !== 'object' || err === null) return apiError('INTERNAL_ERROR');
  const e = err as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (Array.isArray(e.validation)) return apiError('INVALID_REQUEST', validationMessage(e.validation as ValidationItem[], e.validationContext ?? 'request'));
  const mapped = typeof e.code === 'string' ? FRAMEWORK[e.code] : undefined;
  if (mapped === 'INVALID_REQUEST') return apiError(mapped, e.message);
  if (mapped) return apiError(mapped);
  if (err instanceof SyntaxError && e.statusCode === 400) return apiError('INVALID_REQUEST', `Malformed JSON body: ${err.message}`);
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const byStatus = BY_STATUS[status];
    return byStatus ? apiError(byStatus) : apiError('INVALID_REQUEST', typeof e.message === 'string' ? e.message : undefined);
  }
  if (status === 503) return apiError('NOT_READY');
  return apiError('INTERNAL_ERROR');
}

const send = (reply: FastifyReply, e: ApiError): FastifyReply =>
  reply.code(e.status).type('application/json; charset=utf-8').send({ error: { code: e.code, message: e.message } });

function handle(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toApiError(err);
  if (e.code === 'INTERNAL_ERROR') request.log.error({ err }, 'request failed');
  else request.log.info({ code: e.code, message: e.message }, 'request rejected');
  // A streaming response (SSE) may already have sent its headers: nothing left to say.
  if (reply.sent || reply.raw.headersSent) return;
  if (err instanceof LakerayError && err.retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  send(reply, e);
}

/** Fastify's `frameworkErrors` option: errors raised before routing (bad URL encoding…). */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  handle(err, request, reply);
}

/** Answers on a bare socket (no request or reply object exists) and closes it. */
function endSocket(socket: Socket, e: ApiError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}

/** Fastify's `clientErrorHandler`: a request Node's HTTP parser rejected (no route ran). */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  endSocket(socket, apiError('INVALID_REQUEST', 'Malformed HTTP request'));
}

/**
 * The `ws` server's `wsClientError`: a WebSocket upgrade whose handshake `ws` refused (no or a
 * malformed Sec-WebSocket-Key, an unsupported version…). Without this listener `ws` answers
 * in plain text; with it, the answer has the API's shape. The message is ws's own.
 */
export function upgradeErrorHandler(err: Error, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const version = /Sec-WebSocket-Version/.test(err.message);
  endSocket(socket, apiError('INVALID_REQUEST', `WebSocket handshake refused: ${err.message}`), version ? { 'Sec-WebSocket-Version': '13, 8' } : {});
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods some route answers on this URL (query string and encoding handled by the router). */
function allowedMethods(app: FastifyInstance, url: string): string[] {
  return METHODS.filter((method) => app.findRoute({ method, url }) !== null);
}

/**
 * Installs the error and not-found handlers on the root instance (before routes register).
 * No route matched: 405 METHOD_NOT_ALLOWED (with `Allow`) when the path exists under
 * another method, 404 ROUTE_NOT_FOUND when it does not exist at all.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => handle(err, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url;
    const allow = allowedMethods(app, request.url);
    if (allow.length > 0) {
      reply.header('allow', allow.join(', '));
      return send(reply, apiError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${url}; use ${allow.join(', ')}`));
    }
    return send(reply, apiError('ROUTE_NOT_FOUND', `No route for ${request.method} ${url}`));
  });
}
