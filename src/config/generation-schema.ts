/** The `generation` part of the config (schema.ts): the video models' catalog and the progress stream. */
import { z } from 'zod';
import { resourcesSchema } from './executors-schema.ts';

/** "W*H" (the seeds' size notation, e.g. "832*480"). */
const sizeString = z.string().regex(/^\d{1,5}\*\d{1,5}$/, 'expected "W*H", e.g. "832*480"');

/** A value a template placeholder can take (model defaults and extra variables). */
const templateValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * How a video model becomes a task (generation/template.ts): a script of the script roots
 * with a params object, or a command line (argv) for an executor that runs commands (Ray).
 * `{name}` placeholders are substituted into values, never into a shell string.
 */
export const videoTemplateSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('script'),
      script: z.string().min(1),
      params: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
  z
    .object({
      kind: z.literal('entrypoint'),
      argv: z.array(z.string()).min(1),
      /** Extra fields passed to the executor as they are (e.g. Ray's runtime_env). */
      options: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
]);

export const videoModelSchema = z
  .object({
    id: z.string().max(64).regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits and _ . - only'),
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).default(''),
    /** Executor that runs it: "local" for scripts; entrypoint templates default to "ray". */
    executor: z.string().min(1).optional(),
    template: videoTemplateSchema,
    /** Per generation; cpu defaults to 1 (gpu to 0), like a task's. */
    resources: resourcesSchema.extend({ cpu: z.number().nonnegative().default(1) }).default({ cpu: 1, memory_mb: 0, gpu: 0, custom: {} }),
    /** Task timeout (default: generation.timeout_s). */
    timeout_s: z.number().positive().nullable().optional(),
    /** Request defaults; any other key is a template variable (e.g. ckpt_dir). */
    defaults: z
      .object({
        size: sizeString.default('832*480'),
        fps: z.number().int().min(1).max(120).default(16),
        num_frames: z.number().int().positive().optional(),
        duration: z.number().positive().optional(),
        negative_prompt: z.string().default(''),
        watermark: z.union([z.boolean(), z.string().max(64)]).default(true),
      })
      .catchall(templateValue)
      .default({ size: '832*480', fps: 16, negative_prompt: '', watermark: true }),
    limits: z
      .object({
        max_width: z.number().int().positive().default(1920),
        max_height: z.number().int().positive().default(1920),
        max_frames: z.number().int().positive().default(241),
        max_fps: z.number().int().positive().default(60),
        /** When set, only these sizes are accepted. */
        sizes: z.array(sizeString).min(1).optional(),
      })
      .strict()
      .default({ max_width: 1920, max_height: 1920, max_frames: 241, max_fps: 60 }),
  })
  .strict();

/** The catalog when the config names none: the demo renderer of examples/video. */
export const DEFAULT_VIDEO_MODELS: z.input<typeof videoModelSchema>[] = [
  {
    id: 'demo',
    name: 'Demo renderer',
    description: 'Procedural text/image-to-video renderer (numpy + ffmpeg, no GPU): the shape of a real model, in seconds',
    executor: 'local',
    template: {
      kind: 'script',
      script: 'video/generate.py',
      params: {
        prompt: '{prompt}',
        negative_prompt: '{negative_prompt}',
        width: '{width}',
        height: '{height}',
        num_frames: '{num_frames}',
        fps: '{fps}',
        seed: '{seed}',
        image: '{image}',
        watermark: '{watermark}',
        model: '{model}',
      },
    },
    resources: { cpu: 1, gpu: 0 },
    defaults: { size: '832*480', fps: 16, num_frames: 48 },
    limits: { max_width: 1920, max_height: 1080, max_frames: 480 },
  },
];

export const generationSchema = z
  .object({
    /** The model catalog; each model is a task template (docs/video.md). */
    models: z.array(videoModelSchema).default(() => DEFAULT_VIDEO_MODELS.map((m) => videoModelSchema.parse(m))),
    /** Model of a request that names none (default: the first). */
    default_model: z.string().optional(),
    max_prompt_chars: z.number().int().positive().default(2000),
    /** Timeout of a generation task whose model sets none. */
    timeout_s: z.number().positive().nullable().default(3600),
    uploads: z
      .object({
        /** Largest image (upload, data: URI or fetched URL), in bytes. */
        max_bytes: z.number().int().positive().default(10 * 1024 * 1024),
        fetch_timeout_ms: z.number().int().positive().default(10_000),
        max_redirects: z.number().int().nonnegative().default(3),
        /** Let `image` URLs reach private, loopback and link-local addresses. */
        allow_private: z.boolean().default(false),
      })
      .strict()
      .default({ max_bytes: 10 * 1024 * 1024, fetch_timeout_ms: 10_000, max_redirects: 3, allow_private: false }),
  })
  .strict();

export const progressStreamSchema = z
  .object({
    /** redis://[[user]:password@]host[:port][/db] */
    url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
    stream: z.string().min(1).default('wan22-progress-stream'),
    /** Consumer group; servers sharing one store share it, so each entry is applied once. */
    group: z.string().min(1).default('lakeray'),
    /** An entry left unacked this long by a consumer (it crashed) is taken over. */
    claim_idle_ms: z.number().int().positive().default(30_000),
    /**
     * After a COMPLETED/FAILED entry, how long the task's process may take to end on its own
     * (its exit then settles the task, with its own result and files); past it the entry's
     * outcome settles the task and the process is stopped.
     */
    result_grace_ms: z.number().int().nonnegative().default(5_000),
  })
  .strict();

export type VideoModelConfig = z.infer<typeof videoModelSchema>;
export type VideoTemplateConfig = z.infer<typeof videoTemplateSchema>;
export type ProgressStreamConfig = z.infer<typeof progressStreamSchema>;
