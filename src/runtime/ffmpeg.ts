/**
 * Where video tasks find ffmpeg: the system's when there is one on PATH (a distribution build,
 * possibly with hardware encoders), else the static build that `npm install` brought
 * (@ffmpeg-installer, with libx264), so the first README command works on a machine where
 * nobody ran apt. Scripts read it from LAKERAY_FFMPEG.
 */
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

const executable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.LAKERAY_FFMPEG && executable(env.LAKERAY_FFMPEG)) return env.LAKERAY_FFMPEG;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'ffmpeg'))) return join(dir, 'ffmpeg');
  }
  try {
    const bundled = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    return executable(bundled) ? bundled : null;
  } catch {
    return null;
  }
}
