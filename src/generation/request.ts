/**
 * A video generation request: its schema (the API validates bodies with it), and the pure
 * step that checks it against a model's limits and turns it into template variables.
 */
import { z } from 'zod';
import type { VideoModelConfig } from '../config/schema.ts';
import { LakerayError } from '../domain/errors.ts';
import { webhookInput } from '../engine/task-input.ts';
import { extraVars, formatSize, parseSize, sizeProblem } from './catalog.ts';
import type { Vars } from './template.ts';

export const MAX_SEED = 2 ** 32 - 1;
/** Frames of a request that gives neither num_frames nor duration, when the model's defaults give neither. */
const FALLBACK_FRAMES = 81;

export const generationRequest = z
  .object({
    model: z.string().min(1).max(64).optional().describe('A model id of GET /v1/video/models (default: the first)'),
    prompt: z.string().describe('What to generate (at most generation.max_prompt_chars characters)'),
    negative_prompt: z.string().optional(),
    image: z.string().min(1).nullable().optional().describe('First frame: an upload id (up_…), a data: URI (base64) or an http(s) URL'),
    size: z.string().max(16).optional().describe('"W*H", e.g. "832*480" (default: the model\'s)'),
    duration: z.number().positive().max(3600).optional().describe('Seconds (num_frames = round(duration × fps)); or give num_frames'),
    num_frames: z.number().int().positive().optional(),
    fps: z.number().int().positive().optional(),
    seed: z.number().int().min(0).max(MAX_SEED).nullable().optional().describe('Default: a random seed, reported back'),
    watermark: z.union([z.boolean(), z.string().max(64)]).optional().describe("Watermark on the video (true/false, or its text; default: the model's)"),
    webhook: webhookInput.nullable().optional(),
  })
  .strict();

export type GenerationRequest = z.infer<typeof generationRequest>;

/** What the request resolved to (before the image is fetched): the template variables minus `image`. */
export interface GenerationPlan {
  vars: Omit<Vars, 'image'> & { width: number; height: number; size: string; num_frames: number; fps: number; duration: number; seed: number };
}

const bad = (message: string): LakerayError => new LakerayError('INVALID_REQUEST', message);

/** Counts characters as a person does (code points), not UTF-16 units. */
const chars = (s: string): number => [...s].length;

export function planGeneration(model: VideoModelConfig, req: GenerationRequest, maxPromptChars: number, randomSeed: () => number): GenerationPlan {
  const { defaults: d, limits } = model;
  if (req.prompt.trim().length === 0) throw bad('prompt: must not be empty');
  if (chars(req.prompt) > maxPromptChars) throw bad(`prompt: ${chars(req.prompt)} characters is over the limit of ${maxPromptChars}`);
  const negative = req.negative_prompt ?? d.negative_prompt;
  if (chars(negative) > maxPromptChars) throw bad(`negative_prompt: ${chars(negative)} characters is over the limit of ${maxPromptChars}`);

  const sizeText = req.size ?? d.size;
  const size = parseSize(sizeText.replace(/[xX×]/, '*'));
  if (size === null) throw bad(`size: "${sizeText}" is not W*H (e.g. "832*480")`);
  const problem = sizeProblem(size, limits);
  if (problem !== null) throw bad(`size: ${problem}`);

  const fps = req.fps ?? d.fps;
  if (fps > limits.max_fps) throw bad(`fps: ${fps} is over the limit of ${limits.max_fps}`);
  if (req.num_frames !== undefined && req.duration !== undefined) throw bad('give num_frames or duration, not both');
  const frames =
    req.num_frames ??
    (req.duration !== undefined
      ? Math.max(1, Math.round(req.duration * fps))
      : (d.num_frames ?? (d.duration !== undefined ? Math.max(1, Math.round(d.duration * fps)) : Math.min(FALLBACK_FRAMES, limits.max_frames))));
  if (frames > limits.max_frames)
    throw bad(`${req.num_frames !== undefined ? 'num_frames' : 'duration'}: ${frames} frames is over the limit of ${limits.max_frames} (${(limits.max_frames / fps).toFixed(1)} s at ${fps} fps)`);

  const extras: Record<string, Vars[string]> = {};
  for (const k of extraVars(model)) extras[k] = d[k] as Vars[string];
  return {
    vars: {
      ...extras,
      prompt: req.prompt,
      negative_prompt: negative,
      width: size.width,
      height: size.height,
      size: formatSize(size),
      num_frames: frames,
      fps,
      duration: Math.round((frames / fps) * 1000) / 1000,
      seed: req.seed ?? randomSeed(),
      watermark: req.watermark ?? d.watermark,
      model: model.id,
    },
  };
}
