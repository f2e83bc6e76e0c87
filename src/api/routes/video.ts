/**
 * The video-generation API of seeds 000/001 (docs/video.md):
 *
 *   POST   /v1/video/generations        202 {task_id, status: "QUEUED", queue_position, created_at}
 *   GET    /v1/video/generations        {generations: [Video], next_cursor}   (newest first)
 *   GET    /v1/video/generations/{id}   Video
 *   DELETE /v1/video/generations/{id}   queued/running: cancel → 200 Video; finished: delete (+ files) → 204
 *   GET    /v1/video/models             {models: [Model]}
 *   POST   /api/v1/uploads              multipart field "file" (PNG, JPEG, WebP, GIF) → 201 {id, content_type, size, url}
 *   GET    /api/v1/uploads/{id}         the uploaded image
 *
 * A bad request is refused before anything is written (400, and no task).
 */
import { createReadStream } from 'node:fs';
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { generationRequest } from '../../generation/request.ts';
import type { GenerationService } from '../../generation/service.ts';
import { VIDEO_STATUSES } from '../../generation/view.ts';
import { callerOf } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface VideoRoutesOptions {
  generation: GenerationService;
}

const tags = ['video'];
const idParams = z.object({ id: z.string().min(1).max(200) }).strict();
const isoTime = z.string().describe('ISO-8601 (UTC)');

const artifactJson = z.object({ name: z.string(), content_type: z.string(), size: z.number(), url: z.string() });

export const videoJson = z
  .object({
    task_id: z.string(),
    model: z.string(),
    status: z.enum(VIDEO_STATUSES),
    progress: z.number().describe('0–100'),
    progress_message: z.string().nullable(),
    queue_position: z.number().nullable().describe('Generations ahead of this one (0 = next); null unless QUEUED'),
    eta_seconds: z.number().nullable().describe('Seconds until it finishes: from progress while RUNNING, from history while QUEUED; null when unknown'),
    result: z
      .object({
        video_url: z.string().nullable(),
        cover_url: z.string().nullable(),
        duration: z.number(),
        num_frames: z.number(),
        fps: z.number(),
        size: z.string(),
        artifacts: z.array(artifactJson),
      })
      .nullable()
      .describe('Set once SUCCEEDED; URLs are paths on this server (Range requests supported)'),
    error: z.object({ code: z.string(), message: z.string(), step: z.string().optional() }).nullable(),
    created_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
    prompt: z.string().nullable(),
    negative_prompt: z.string().nullable(),
    size: z.string(),
    num_frames: z.number(),
    fps: z.number(),
    duration: z.number(),
    seed: z.number().nullable(),
    image: z.string().nullable().describe('Upload id of the first frame (GET /api/v1/uploads/{id})'),
  })
  .describe('A video generation');

const acceptedJson = z.object({
  task_id: z.string(),
  status: z.literal('QUEUED'),
  queue_position: z.number().nullable(),
  created_at: isoTime,
});

const modelJson = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  kind: z.enum(['script', 'entrypoint']),
  executor: z.string(),
  available: z.boolean(),
  unavailable_reason: z.string().nullable(),
  defaults: z.record(z.string(), z.unknown()),
  limits: z.object({ max_width: z.number(), max_height: z.number(), max_frames: z.number(), max_fps: z.number(), sizes: z.array(z.string()).optional() }),
  resources: z.object({ cpu: z.number(), memory_mb: z.number(), gpu: z.number(), custom: z.record(z.string(), z.number()) }),
});

const uploadJson = z.object({ id: z.string(), content_type: z.string(), size: z.number(), url: z.string() });

/**
 * The bytes of the multipart field "file". Busboy reports a body it cannot parse (no or an
 * unusable boundary, a body cut short, a part without its headers) as a plain Error; here
 * that is the client's malformed body, not a server fault. The plugin's own errors (limits,
 * premature close) carry their HTTP status and pass through.
 */
async function uploadedFile(request: FastifyRequest): Promise<Buffer> {
  try {
    const file = await request.file();
    if (!file) throw new LakerayError('INVALID_REQUEST', 'no file: send the image in a field named "file"');
    if (file.fieldname !== 'file') {
      file.file.resume();
      throw new LakerayError('INVALID_REQUEST', `unexpected field "${file.fieldname}": send the image in a field named "file"`);
    }
    return await file.toBuffer();
  } catch (err) {
    if (err instanceof LakerayError || !(err instanceof Error) || typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err;
    throw new LakerayError('INVALID_MULTIPART', `malformed multipart/form-data body (${err.message}); send a boundary in Content-Type and the whole body`);
  }
}

export const videoRoutes: FastifyPluginAsyncZod<VideoRoutesOptions> = async (app, { generation }) => {
  // Multipart only here (encapsulated): the rest of the API keeps refusing non-JSON bodies.
  await app.register(multipart, { limits: { fileSize: generation.maxUploadBytes, files: 1, fields: 10, parts: 12 } });

  app.post(
    '/v1/video/generations',
    {
      bodyLimit: generation.maxBodyBytes,
      schema: {
        tags,
        summary: 'Start a video generation (answers at once; the video is made by a queued task)',
        body: generationRequest,
        response: { 202: acceptedJson, ...errorResponses(400, 413, 415) },
      },
    },
    async (request, reply) => {
      const accepted = await generation.submit(callerOf(request), request.body);
      reply.code(202).header('location', `/v1/video/generations/${accepted.task_id}`);
      return accepted;
    },
  );

  app.get(
    '/v1/video/generations',
    {
      schema: {
        tags,
        summary: 'List video generations, newest first',
        querystring: z
          .object({ limit: z.coerce.number().int().min(1).max(200).default(20), cursor: z.string().min(1).max(512).optional() })
          .strict(),
        response: { 200: z.object({ generations: z.array(videoJson), next_cursor: z.string().nullable() }), ...errorResponses(400) },
      },
    },
    async (request) => generation.list(callerOf(request), request.query),
  );

  app.get(
    '/v1/video/generations/:id',
    { schema: { tags, summary: 'Status, progress and result of a generation', params: idParams, response: { 200: videoJson, ...errorResponses(404) } } },
    async (request) => generation.get(callerOf(request), request.params.id),
  );

  app.delete(
    '/v1/video/generations/:id',
    {
      schema: {
        tags,
        summary: 'Cancel a queued or running generation (200), or delete a finished one and its files (204)',
        params: idParams,
        response: { 200: videoJson, 204: z.undefined().describe('Deleted'), ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const after = await generation.remove(callerOf(request), request.params.id);
      if (after === null) return reply.code(204).send();
      return after;
    },
  );

  app.get(
    '/v1/video/models',
    { schema: { tags, summary: 'The model catalog', response: { 200: z.object({ models: z.array(modelJson) }) } } },
    async () => ({ models: generation.models() }),
  );

  app.post(
    '/api/v1/uploads',
    {
      schema: {
        tags,
        summary: 'Upload an image (multipart/form-data, field "file"): PNG, JPEG, WebP or GIF',
        consumes: ['multipart/form-data'],
        response: { 201: uploadJson, ...errorResponses(400, 413, 415) },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new LakerayError('UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data with the image in a field named "file"');
      const bytes = await uploadedFile(request);
      const upload = await generation.upload(callerOf(request), bytes);
      reply.code(201).header('location', `/api/v1/uploads/${upload.id}`);
      return { id: upload.id, content_type: upload.content_type, size: upload.size, url: `/api/v1/uploads/${upload.id}` };
    },
  );

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/v1/uploads/:id',
    exposeHeadRoute: false,
    schema: { tags, summary: 'An uploaded image', params: idParams, response: errorResponses(400) },
    handler: async (request, reply) => {
      const upload = await generation.uploadFile(callerOf(request), request.params.id);
      reply.header('content-type', upload.content_type).header('content-length', String(upload.size)).header('cache-control', 'private, max-age=86400');
      if (request.method === 'HEAD') return reply.send(undefined as never);
      return reply.send(createReadStream(upload.path) as never);
    },
  });
};
