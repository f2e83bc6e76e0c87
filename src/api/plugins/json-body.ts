/**
 * The JSON body parser every route shares: Fastify's own (secure-json-parse, which refuses
 * `__proto__` and `constructor.prototype` keys), then a bound on nesting depth. A body nested
 * past `server.max_json_depth` is a 400 here, before any route, schema or store sees it:
 * V8 parses a 500,000-level body (slowly: 0.7 s for 1 MiB), but JSON.stringify in the store,
 * hashing for idempotency and a Python script's json.loads all recurse and would overflow on
 * it. The depth is measured on the text in one pass before parsing (domain/json-depth.ts),
 * so the guard can neither overflow nor take long.
 */
import type { FastifyInstance } from 'fastify';
import { LakerayError } from '../../domain/errors.ts';
import { textNestsDeeperThan } from '../../domain/json-depth.ts';

export const DEFAULT_MAX_JSON_DEPTH = 64;

type JsonParser = ReturnType<FastifyInstance['getDefaultJsonParser']>;

/** Fastify's JSON parser behind the depth bound: what every JSON body goes through (the predict route's fast image read falls back to it). */
export function boundedJsonParser(app: FastifyInstance, maxDepth: number): JsonParser {
  const parse = app.getDefaultJsonParser('error', 'error');
  return (request, body, done) => {
    // Measured on the text, before parsing: V8 takes its time over deep nesting.
    if (textNestsDeeperThan(body, maxDepth))
      return done(new LakerayError('INVALID_REQUEST', `body: JSON nested more than ${maxDepth} levels deep (the limit is server.max_json_depth = ${maxDepth})`), undefined);
    parse(request, body, done);
  };
}

export function installJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  const parse = boundedJsonParser(app, maxDepth);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => parse(request, body as string, done));
}
