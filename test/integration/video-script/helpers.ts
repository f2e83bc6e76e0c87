/** Fixtures of the demo video model's tests (examples/video): ffmpeg, media probes, files. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findFfmpeg } from '../../../src/runtime/ffmpeg.ts';
import { ROOT, tempDir } from '../executor/helpers.ts';

export const EXAMPLES = path.join(ROOT, 'examples');
export const VIDEO_DIR = path.join(EXAMPLES, 'video');
export const FFMPEG = findFfmpeg();

/** Stream and duration of a media file, from `ffmpeg -i` (ffprobe is not always there). */
export const probe = (file: string): { codec: string; width: number; height: number; duration: number; fps: number } => {
  const r = spawnSync(FFMPEG!, ['-hide_banner', '-i', file], { encoding: 'utf8' });
  const text = r.stderr;
  const stream = /Stream #\S+.*Video: (\w+).*?, (\d+)x(\d+)[ ,].*?, ([\d.]+) fps/.exec(text);
  const dur = /Duration: (\d+):(\d+):([\d.]+)/.exec(text);
  if (!stream || !dur) throw new Error(`cannot probe ${file}:\n${text}`);
  return {
    codec: stream[1]!,
    width: Number(stream[2]),
    height: Number(stream[3]),
    fps: Number(stream[4]),
    duration: Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]),
  };
};

/** Decodes the whole file; true when ffmpeg reports no error. */
export const decodesCleanly = (file: string): boolean => {
  const r = spawnSync(FFMPEG!, ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return r.status === 0 && r.stderr.trim() === '';
};

/** Frame n of a video as raw RGB24 bytes. */
export const frameRgb = (file: string, n: number): Buffer =>
  execFileSync(FFMPEG!, ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${n})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);

/** Mean colour of a rectangle of an RGB24 frame. */
export const meanRgb = (rgb: Buffer, width: number, x0: number, y0: number, w: number, h: number): [number, number, number] => {
  const sum = [0, 0, 0];
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const i = (y * width + x) * 3;
      sum[0]! += rgb[i]!;
      sum[1]! += rgb[i + 1]!;
      sum[2]! += rgb[i + 2]!;
    }
  }
  return sum.map((s) => s / (w * h)) as [number, number, number];
};

/** Width and height from a PNG's IHDR. */
export const pngSize = (file: string): { width: number; height: number } => {
  const b = fs.readFileSync(file);
  if (b.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${file} is not a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
};

/** A one-colour PNG made by ffmpeg's lavfi colour source. */
export const colorPng = (color: string, width: number, height: number): string => {
  const file = path.join(tempDir(), `${color}.png`);
  execFileSync(FFMPEG!, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=${color}:size=${width}x${height}`, '-frames:v', '1', file]);
  return file;
};

/** Every file in a directory (names), hidden ones too. */
export const listDir = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

/** Direct children of a process, from /proc (Linux). */
export const childrenOf = (pid: number): Array<{ pid: number; comm: string }> => {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
};
