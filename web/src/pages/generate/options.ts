/** The form's choices from a model of GET /v1/video/models: defaults and the sizes it allows. */
import type { VideoModel } from '../../api/types.ts';

export const MAX_PROMPT = 2000;
const COMMON_SIZES = ['832*480', '480*832', '1280*720', '720*1280', '1024*1024', '960*960', '624*624', '512*512'];

/** What the form starts from when the person changes nothing: the model's defaults. */
export function defaultsOf(model: VideoModel | undefined): { size: string; fps: number; frames: number } {
  const d = model?.defaults ?? {};
  const fps = typeof d.fps === 'number' ? d.fps : 16;
  const frames = typeof d.num_frames === 'number' ? d.num_frames : typeof d.duration === 'number' ? Math.max(1, Math.round(d.duration * fps)) : 81;
  return { size: typeof d.size === 'string' ? d.size : '832*480', fps, frames: model ? Math.min(frames, model.limits.max_frames) : frames };
}

/** The sizes to offer: the model's list, else common ones within its limits; its default first when not among them. */
export function sizesFor(model: VideoModel | undefined): string[] {
  const fallback = defaultsOf(model).size;
  if (!model) return [fallback];
  const fromLimits = model.limits.sizes?.length ? model.limits.sizes : COMMON_SIZES;
  const fits = fromLimits.filter((s) => {
    const [w, h] = s.split('*').map(Number);
    return !!w && !!h && w <= model.limits.max_width && h <= model.limits.max_height;
  });
  return [...new Set(fits.includes(fallback) ? fits : [fallback, ...fits])];
}

/** "832*480" → "832×480 · landscape". */
export function sizeLabel(size: string): string {
  const [w, h] = size.split('*').map(Number);
  if (!w || !h) return size;
  const shape = w > h ? 'landscape' : w < h ? 'portrait' : 'square';
  return `${w}×${h} · ${shape}`;
}

export const intOrUndefined = (s: string): number | undefined => {
  if (s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? Math.round(n) : undefined;
};
