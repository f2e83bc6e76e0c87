/**
 * Seed 002's `POST /generate` (serve_app.py's APIEntrypoint.generate), so its Go control plane
 * and curl lines work against Lakeray with only the base URL changed: a thin layer over the
 * video API (generation/service.ts), like seed003.ts over sessions.
 *
 *   POST /generate {task | model_type, prompt, size | resolution, duration, image, ckpt_dir, task_id, …}
 *     → 200 {"status": "task_started", "task_id": <Lakeray's task id>, "client_task_id"?: <the body's>}
 *     → 4xx {"status": "error", "message": …, "code": …, "error": {code, message}}   (the seed's keys, plus Lakeray's)
 *
 * The body's mapping onto a catalog model is generation/seed002.ts. The answer's task_id is
 * Lakeray's own, the one GET /api/v1/tasks/{id} and /v1/video/generations/{id} take and the
 * `wan22-progress-stream` entries of the generator carry; a `task_id` in the body is the
 * request's idempotency key (`seed002:<task_id>`: the same id again returns the same task,
 * never a second run) and the task's label `seed002_task_id`. docs/video.md says more.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { generationRequest } from '../../generation/request.ts';
import { chooseSeedModel, seedOfTaskId, seedSize } from '../../generation/seed002.ts';
import type { GenerationService } from '../../generation/service.ts';
import { callerOf } from '../caller.ts';

export interface Seed002RoutesOptions {
  generation: GenerationService;
}

const fixedField = z.string().min(1).max(1024).optional();

const seedBody = generationRequest
  .omit({ image: true })
  .extend({
    task: z.string().min(1).max(64).optional().describe('Wan2.2 task: i2v-A14B, t2v-A14B, ti2v-5B, …'),
    model_type: z.string().min(1).max(64).optional().describe('A task or a family: t2v, i2v, ti2v'),
    task_id: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, ".", "_", ":" and "-"')
      .optional()
      .describe('The client\'s id: an idempotency key (the same id again returns the same task)'),
    resolution: z.string().min(1).max(16).optional().describe('"480p", "720p" or "1080p" (or give size)'),
    image: z.string().min(1).max(4096).nullable().optional().describe('An upload id, data: URI, http(s) URL, or (Ray models) a path on the workers'),
    ckpt_dir: fixedField,
    s3_bucket: fixedField,
    s3_key_prefix: fixedField,
  })
  .strict();

const started = z.object({ status: z.literal('task_started'), task_id: z.string(), client_task_id: z.string().optional() });

/** A path the workers read: absolute, no `..` segment. Anything else that is no upload id, data: URI or URL is refused. */
const WORKER_PATH = /^\/(?!.*(?:^|\/)\.\.(?:\/|$))[^\0]*$/;
const SERVER_IMAGE = /^(up_|data:|https?:\/\/)/i;

export const seed002Routes: FastifyPluginAsyncZod<Seed002RoutesOptions> = async (app, { generation }) => {
  // Errors of these routes in the seed's shape, {"status": "error", "message", "code"}, still
  // carrying Lakeray's {"error": {code, message}} (what every other route answers, e.g. a 401).
  // The shared handler (plugins/errors.ts) has mapped and logged them; only the body grows.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
    try {
      const body = JSON.parse(payload) as { error?: { code?: unknown; message?: unknown } };
      if (body.error === undefined) return payload;
      return JSON.stringify({ status: 'error', message: body.error.message, code: body.error.code, error: body.error });
    } catch {
      return payload;
    }
  });

  app.post(
    '/generate',
    {
      bodyLimit: generation.maxBodyBytes,
      schema: {
        tags: ['video'],
        summary: "Start a video generation (seed 002's POST /generate); errors are {status: error, message, code}",
        body: seedBody,
        response: { 200: started },
      },
    },
    async (request) => {
      const { task, model_type, task_id, resolution, image, ckpt_dir, s3_bucket, s3_key_prefix, model: own, size, ...rest } = request.body;
      const available = new Set(generation.models().filter((m) => m.available).map((m) => m.id));
      const model = chooseSeedModel(generation.catalog(), { model: own, task, model_type, fixed: { ckpt_dir, s3_bucket, s3_key_prefix } }, (m) => available.has(m.id), generation.defaultModel);
      const wantedSize = seedSize(size, resolution);
      let workerImagePath: string | undefined;
      if (typeof image === 'string' && !SERVER_IMAGE.test(image)) {
        const kind = generation.executorKind(model);
        if (!WORKER_PATH.test(image))
          throw new LakerayError('INVALID_REQUEST', 'image: expected an upload id (up_…), a data: URI, an http(s) URL, or an absolute path on the Ray workers');
        // No executor for the model at all: the video API's VIDEO_MODEL_UNAVAILABLE (submit) says why and how.
        if (kind !== 'ray' && kind !== null)
          throw new LakerayError(
            'INVALID_REQUEST',
            `image: "${image.slice(0, 200)}" is a path on the workers, which only a model run by Ray reads; model "${model.id}" runs on an executor of kind ${kind}: send an upload id (POST /api/v1/uploads), a data: URI or an http(s) URL`,
          );
        workerImagePath = image;
      }
      const accepted = await generation.submit(
        callerOf(request),
        {
          ...rest,
          model: model.id,
          ...(image === undefined || workerImagePath !== undefined ? {} : { image }),
          ...(wantedSize === undefined ? {} : { size: wantedSize }),
          ...(rest.seed === undefined && task_id !== undefined ? { seed: seedOfTaskId(task_id) } : {}),
        },
        {
          ...(workerImagePath === undefined ? {} : { workerImagePath }),
          ...(task_id === undefined ? {} : { idempotencyKey: `seed002:${task_id}`, labels: { seed002_task_id: task_id } }),
        },
      );
      return { status: 'task_started' as const, task_id: accepted.task_id, ...(task_id === undefined ? {} : { client_task_id: task_id }) };
    },
  );
};
