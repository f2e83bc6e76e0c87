/**
 * Lake routes (DESIGN.md §8): datasets and models share one shape — list, describe, rows,
 * versions, tags, delete — plus Arrow IPC in and out (`/arrow`), which is how task scripts
 * read and write the lake wherever they run. Models also serve their files.
 *
 * A request from a task names it with X-Lakeray-Task; the engine pins what it reads and
 * records lineage for what it writes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskTokens } from '../../engine/task-tokens.ts';
import type { LakeService } from '../../lake/service/lake-service.ts';
import type { TenantLakes } from '../../lake/service/tenant-lakes.ts';
import { auditRequest } from '../caller.ts';
import { lakeCallerOf } from '../lake-caller.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface LakeRoutesOptions {
  /** Each tenant's namespace of the lake. */
  lakes: TenantLakes;
  /** Verifies the task tokens of task requests (lake-caller.ts); without it no request is a task's. */
  tokens?: TaskTokens;
  /** Largest Arrow upload in bytes. */
  maxUploadBytes: number;
}

export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';
/** Asked for by readers on the server's machine: a JSON pointer to a local Arrow IPC file. */
export const ARROW_FILE_REF = 'application/vnd.lakeray.arrow-file+json';
const KINDS = ['datasets', 'models'] as const;

const idParams = z.object({ id: z.string().min(1).max(128) }).strict();
const tagParams = z.object({ id: z.string().min(1).max(128), tag: z.string().min(1).max(128) }).strict();
const fileParams = z.object({ id: z.string().min(1).max(128), file: z.string().min(1).max(512) }).strict();

const columnList = z
  .string()
  .min(1)
  .transform((s) => s.split(',').map((c) => c.trim()).filter((c) => c.length > 0))
  .refine((names) => names.length > 0, 'expected at least one column name')
  .describe('Comma-separated column names');
const version = z.string().min(1).max(128).optional().describe('A version number or a tag (default: the latest)');
const filter = z.string().min(1).max(4096).optional().describe("SQL filter, e.g. label = 3 AND split = 'test'");

const rowsQuery = z
  .object({
    offset: z.coerce.number().int().min(0).max(2 ** 53).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    columns: columnList.optional(),
    filter,
    version,
    expand: columnList.optional().describe('Columns returned whole instead of summarized (vectors, binaries, long strings)'),
  })
  .strict();

const listQuery = z
  .object({
    offset: z.coerce.number().int().min(0).max(2 ** 53).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
const arrowQuery = z.object({ columns: columnList.optional(), filter, version }).strict();
const writeQuery = z.object({ mode: z.enum(['create', 'overwrite', 'append']).default('overwrite') }).strict();
const fileQuery = z.object({ version }).strict();
const tagBody = z.object({ tag: z.string().min(1).max(128), version: z.number().int().min(1) }).strict();

const column = z.object({ name: z.string(), type: z.string(), nullable: z.boolean() });
const tableView = z.object({
  id: z.string(),
  kind: z.enum(KINDS),
  path: z.string(),
  schema: z.record(z.string(), z.string()),
  columns: z.array(column),
  num_rows: z.number(),
  size_bytes: z.number(),
  version: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
  tags: z.record(z.string(), z.number()),
});
const lineageRecord = z.object({
  kind: z.enum(KINDS),
  name: z.string(),
  version: z.number(),
  task_id: z.string(),
  script: z.string(),
  params: z.record(z.string(), z.unknown()),
  inputs: z.array(z.object({ kind: z.enum(KINDS), name: z.string(), version: z.number() })),
  created_at: z.number(),
});
const tableDetail = tableView.extend({
  lineage: z.array(lineageRecord).describe('What produced each version, newest first'),
  files: z.array(z.object({ file: z.string(), content_type: z.string().nullable(), size: z.number() })).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  task_id: z.string().nullable().optional(),
});
const versionList = z.object({
  versions: z.array(z.object({ version: z.number(), timestamp: z.string(), num_rows: z.number(), tags: z.array(z.string()) })),
});
const writeResult = z.object({ name: z.string(), kind: z.enum(KINDS), version: z.number(), num_rows: z.number() });

const taskHeader = z.looseObject({
  'x-lakeray-task': z.string().min(1).max(200).optional().describe('The running task making this request (pins versions, records lineage)'),
});

/** Counts an upload's bytes and fails it past the limit (the parser hands us the raw stream). */
async function* limited(body: AsyncIterable<Uint8Array>, max: number): AsyncIterable<Uint8Array> {
  let n = 0;
  for await (const chunk of body) {
    n += chunk.byteLength;
    if (n > max) throw new LakerayError('PAYLOAD_TOO_LARGE', `the upload is larger than lake.max_upload_bytes (${max} bytes)`);
    yield chunk;
  }
}

const sendArrow = (reply: FastifyReply, version: number, body: NodeJS.ReadableStream) =>
  reply.header('content-type', ARROW_STREAM).header('x-lakeray-version', String(version)).send(body);

export const lakeRoutes: FastifyPluginAsyncZod<LakeRoutesOptions> = async (app, { lakes, tokens, maxUploadBytes }) => {
  /** The caller's namespace, and the task making the request (its token checked), if any. */
  const scope = async (request: FastifyRequest): Promise<{ lake: LakeService; task: string | undefined }> => {
    const caller = await lakeCallerOf(request, { tokens, taskOf: (id) => lakes.taskOf(id) });
    return { lake: await lakes.of(caller.tenant), task: caller.task };
  };

  // An Arrow upload is consumed as a stream by the handler, never buffered by Fastify.
  app.addContentTypeParser(ARROW_STREAM, (_request: FastifyRequest, payload: unknown, done: (err: Error | null, body?: unknown) => void) => done(null, payload));

  for (const kind of KINDS) {
    const base = `/api/v1/${kind}`;
    const what = kind === 'datasets' ? 'dataset' : 'model';
    const tags = [kind];

    // Seed 004 §4.2's shape: a bare array of tables. Paging rides in the query and a Link
    // header (RFC 8288) naming the next page, present only when there is one.
    app.get(
      base,
      {
        schema: {
          tags,
          summary: `List ${kind}, by name`,
          description: 'A JSON array. When more remain, `Link: <…?offset=N&limit=M>; rel="next"` points at the next page.',
          querystring: listQuery,
          response: { 200: z.array(tableView), ...errorResponses(400) },
        },
      },
      async (request, reply) => {
        const { offset, limit } = request.query;
        const { lake } = await scope(request);
        const tables = await lake.list(kind, { offset, limit: limit + 1 });
        if (tables.length > limit) reply.header('link', `<${base}?offset=${offset + limit}&limit=${limit}>; rel="next"`);
        return tables.slice(0, limit);
      },
    );

    app.get(
      `${base}/:id`,
      { schema: { tags, summary: `Describe a ${what}: schema, size, versions, lineage`, params: idParams, response: { 200: tableDetail, ...errorResponses(400, 401, 404) } } },
      async (request) => (await scope(request)).lake.describe(kind, request.params.id),
    );

    app.delete(
      `${base}/:id`,
      { schema: { tags, summary: `Delete a ${what} and all its versions`, params: idParams, response: { 204: z.null(), ...errorResponses(400, 401, 404, 409) } } },
      async (request, reply) => {
        await (await scope(request)).lake.delete(kind, request.params.id);
        await auditRequest(request, `${kind}.delete`, request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      `${base}/:id/rows`,
      {
        schema: {
          tags,
          summary: `A page of a ${what}'s rows (large cells summarized)`,
          params: idParams,
          querystring: rowsQuery,
          response: { 200: z.looseObject({ id: z.string(), version: z.number(), offset: z.number(), limit: z.number(), total: z.number(), columns: z.array(column), rows: z.array(z.any()) }), ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const page = await (await scope(request)).lake.rows(kind, request.params.id, request.query);
        // Cells are already plain JSON; skip re-validating thousands of them on the way out.
        return reply.type('application/json').serializer((p) => JSON.stringify(p)).send(page as never);
      },
    );

    app.get(
      `${base}/:id/versions`,
      { schema: { tags, summary: `Versions of a ${what}, oldest first`, params: idParams, response: { 200: versionList, ...errorResponses(400, 401, 404) } } },
      async (request) => ({
        versions: (await (await scope(request)).lake.versions(kind, request.params.id)).map((v) => ({ ...v, timestamp: new Date(v.timestamp).toISOString() })),
      }),
    );

    app.post(
      `${base}/:id/tags`,
      { schema: { tags, summary: 'Point a tag at a version', params: idParams, body: tagBody, response: { 204: z.null(), ...errorResponses(400, 401, 404) } } },
      async (request, reply) => {
        await (await scope(request)).lake.tag(kind, request.params.id, request.body.tag, request.body.version);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      `${base}/:id/tags/:tag`,
      { schema: { tags, summary: 'Remove a tag', params: tagParams, response: { 204: z.null(), ...errorResponses(400, 401, 404) } } },
      async (request, reply) => {
        await (await scope(request)).lake.untag(kind, request.params.id, request.params.tag);
        return reply.code(204).send(null);
      },
    );

    app.get(
      `${base}/:id/arrow`,
      {
        schema: {
          tags,
          summary: `Stream a ${what} as Arrow IPC (${ARROW_STREAM}); X-Lakeray-Version tells the version read`,
          description: `A running task of this server (its token in Authorization) may Accept ${ARROW_FILE_REF} and get {path, version, bytes, rows}: a local Arrow IPC file of the same scan to memory-map. Anyone else gets the stream.`,
          params: idParams,
          querystring: arrowQuery,
          headers: taskHeader,
          response: errorResponses(400, 401, 404),
        },
      },
      async (request, reply) => {
        const { lake, task } = await scope(request);
        // A local file's path goes only to a running task of this server (its token checked),
        // never to a client: a path names the server's disk (docs/security.md). Others get the stream.
        if (task !== undefined && request.headers.accept?.includes(ARROW_FILE_REF)) {
          const snap = await lake.readArrowFile(kind, request.params.id, request.query, task);
          if (snap) return reply.type(ARROW_FILE_REF).header('x-lakeray-version', String(snap.version)).serializer(JSON.stringify).send(snap as never);
        }
        const read = await lake.readArrow(kind, request.params.id, request.query, task);
        return sendArrow(reply, read.version, read.body);
      },
    );

    app.put(
      `${base}/:id/arrow`,
      {
        schema: {
          tags,
          summary: `Write an Arrow IPC stream as a new version of a ${what}`,
          description:
            kind === 'models'
              ? 'Columns file (string), data (binary) and optionally content_type, one row per file; schema metadata lakeray.metrics and lakeray.params (JSON).'
              : 'Any Arrow schema; append must match the existing one.',
          params: idParams,
          querystring: writeQuery,
          headers: taskHeader,
          response: { 200: writeResult, ...errorResponses(400, 401, 404, 409, 413, 415, 429) },
        },
      },
      async (request) => {
        if (request.headers['content-type']?.split(';')[0]?.trim() !== ARROW_STREAM)
          throw new LakerayError('UNSUPPORTED_MEDIA_TYPE', `the body must be ${ARROW_STREAM}`);
        const { lake, task } = await scope(request);
        const body = limited(request.body as AsyncIterable<Uint8Array>, maxUploadBytes);
        return lake.writeArrow(kind, request.params.id, body, request.query.mode, task);
      },
    );
  }

  app.get(
    '/api/v1/models/:id/files/:file',
    { schema: { tags: ['models'], summary: 'Download one file of a model (e.g. model.onnx)', params: fileParams, querystring: fileQuery, response: errorResponses(400, 401, 404) } },
    async (request, reply) => {
      const f = await (await scope(request)).lake.modelFile(request.params.id, request.params.file, request.query.version);
      return reply
        .header('content-type', f.content_type)
        .header('x-lakeray-version', String(f.version))
        .header('content-disposition', `attachment; filename="${request.params.file.replaceAll('"', '')}"`)
        .send(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength) as never);
    },
  );
};
