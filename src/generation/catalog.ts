/**
 * The video model catalog (config `generation.models`): each model is a task template plus
 * request defaults and limits. `checkCatalog` is the static check run when the config is
 * loaded (placeholders, sizes, executor kinds), so a bad template stops the server at start
 * with the path of the bad field instead of failing the first request. Whether a model can
 * run here (its executor is configured, its script exists) is decided per request by the
 * generation service.
 */
import type { GenerationConfig, VideoModelConfig } from '../config/schema.ts';
import { placeholders, TemplateSyntaxError } from './template.ts';

/** Variables every request provides to a template; model `defaults` may add more (e.g. ckpt_dir). */
export const BUILTIN_VARS = [
  'prompt',
  'negative_prompt',
  'width',
  'height',
  'size',
  'num_frames',
  'fps',
  'duration',
  'seed',
  'image',
  'watermark',
  'model',
] as const;

/**
 * Executor kinds Lakeray knows. A model's executor is one of these or the name of a configured
 * executor (executor-choice.ts); a kind with no executor configured lists the model as unavailable.
 */
export const KNOWN_EXECUTORS = ['local', 'ray', 'kubernetes'] as const;

export interface Size {
  width: number;
  height: number;
}

/** "832*480" → {width: 832, height: 480}; null when malformed. */
export const parseSize = (s: string): Size | null => {
  const m = /^(\d{1,5})\*(\d{1,5})$/.exec(s);
  if (!m) return null;
  const width = Number(m[1]);
  const height = Number(m[2]);
  return width > 0 && height > 0 ? { width, height } : null;
};

export const formatSize = (s: Size): string => `${s.width}*${s.height}`;

/** Why a size is refused by a model's limits (H.264 4:2:0 needs even sides), or null. */
export function sizeProblem(size: Size, limits: VideoModelConfig['limits']): string | null {
  if (size.width % 2 !== 0 || size.height % 2 !== 0) return `${formatSize(size)} has an odd side; H.264 needs even width and height`;
  if (size.width < 16 || size.height < 16) return `${formatSize(size)} is smaller than 16*16`;
  if (size.width > limits.max_width || size.height > limits.max_height)
    return `${formatSize(size)} is larger than ${limits.max_width}*${limits.max_height}`;
  if (limits.sizes && !limits.sizes.includes(formatSize(size))) return `${formatSize(size)} is not one of ${limits.sizes.join(', ')}`;
  return null;
}

/** The executor a model runs on: its own, else "ray" for command lines and "local" for scripts. */
export const executorOf = (m: VideoModelConfig): string => m.executor ?? (m.template.kind === 'entrypoint' ? 'ray' : 'local');

/** The template variables a model defines beyond the built-in ones (extra `defaults` keys). */
export const extraVars = (m: VideoModelConfig): string[] =>
  Object.keys(m.defaults).filter((k) => !(BUILTIN_VARS as readonly string[]).includes(k) && k !== 'duration');

/** Problems of the catalog as "path: message" lines (empty: valid); `executorNames`: the configured executors. */
export function checkCatalog(g: GenerationConfig, executorNames: readonly string[] = []): string[] {
  const executors = [...new Set<string>([...KNOWN_EXECUTORS, ...executorNames])];
  const issues: string[] = [];
  const ids = new Set<string>();
  g.models.forEach((m, i) => {
    const at = `generation.models[${i}]`;
    if (ids.has(m.id)) issues.push(`${at}.id: duplicate model id "${m.id}"`);
    ids.add(m.id);
    const executor = executorOf(m);
    if (!executors.includes(executor)) issues.push(`${at}.executor: unknown executor "${executor}" (known: ${executors.join(', ')})`);
    if (m.template.kind === 'entrypoint' && executor === 'local')
      issues.push(`${at}.executor: the local executor runs scripts; an entrypoint (argv) template needs an executor that runs commands, e.g. "ray"`);
    if (m.template.kind === 'script' && !/\.(py|js|mjs|ts|mts)$/.test(m.template.script))
      issues.push(`${at}.template.script: "${m.template.script}" must be a .py, .js, .mjs, .ts or .mts file`);

    const known = new Set<string>([...BUILTIN_VARS, ...extraVars(m)]);
    const body = m.template.kind === 'script' ? { params: m.template.params } : { argv: m.template.argv, options: m.template.options };
    for (const [key, value] of Object.entries(body)) {
      try {
        for (const p of placeholders(value, `${at}.template.${key}`))
          if (!known.has(p.name)) issues.push(`${p.path}: unknown placeholder {${p.name}} (known: ${[...known].join(', ')})`);
      } catch (e) {
        if (!(e instanceof TemplateSyntaxError)) throw e;
        issues.push(`${at}.template.${key}: ${e.message}`);
      }
    }

    const { defaults: d, limits } = m;
    const size = parseSize(d.size);
    if (!size) issues.push(`${at}.defaults.size: "${d.size}" is not W*H`);
    else {
      const problem = sizeProblem(size, limits);
      if (problem) issues.push(`${at}.defaults.size: ${problem}`);
    }
    limits.sizes?.forEach((s, j) => {
      const parsed = parseSize(s);
      const problem = parsed ? sizeProblem(parsed, { ...limits, sizes: undefined }) : `"${s}" is not W*H`;
      if (problem) issues.push(`${at}.limits.sizes[${j}]: ${problem}`);
    });
    if (d.num_frames !== undefined && d.duration !== undefined) issues.push(`${at}.defaults: give num_frames or duration, not both`);
    const frames = d.num_frames ?? (d.duration !== undefined ? Math.round(d.duration * d.fps) : undefined);
    if (frames !== undefined && frames > limits.max_frames) issues.push(`${at}.defaults: ${frames} frames is over limits.max_frames (${limits.max_frames})`);
    if (d.fps > limits.max_fps) issues.push(`${at}.defaults.fps: ${d.fps} is over limits.max_fps (${limits.max_fps})`);
  });
  if (g.default_model !== undefined && !ids.has(g.default_model))
    issues.push(`generation.default_model: no model "${g.default_model}" in generation.models`);
  return issues;
}
