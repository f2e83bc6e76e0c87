/**
 * Micro benchmark of the JSON predict body's reader (src/serving/json-image.ts `readImageBody`)
 * against `JSON.parse` + `Float32Array.from`, on seed 004's body as the `serve` bench sends it
 * (784 numbers of ~17 digits, ~11.8 KB) and a pixel / 255 image.
 *
 *   node --import tsx bench/micro/json-image.ts
 *
 * MICRO_ITERS (20,000) reads per variant per round, MICRO_ROUNDS (7), the variants alternating;
 * the median µs per read is reported. MICRO_BASELINE=<path of a module exporting readImageBody>
 * adds that reader as a variant (e.g. the previous version, extracted with `git show`). Noisy on a
 * shared machine: the load average is printed before and after.
 */
import os from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readImageBody } from '../../src/serving/json-image.ts';

const ITERS = Number(process.env.MICRO_ITERS ?? 20_000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 7);
type Reader = (s: Uint8Array) => Float32Array | null;

const bodies = {
  seed004: Buffer.from(JSON.stringify({ image: Array.from({ length: 784 }, (_, i) => ((i * 31) % 97) / 96) })),
  pixels: Buffer.from(JSON.stringify({ image: Array.from({ length: 784 }, (_, i) => (i % 256) / 255) })),
};
const variants: Record<string, Reader> = {
  readImageBody,
  json_parse: (s) => Float32Array.from((JSON.parse(Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('utf8')) as { image: number[] }).image),
};
if (process.env.MICRO_BASELINE) variants.baseline = ((await import(pathToFileURL(resolve(process.env.MICRO_BASELINE)).href)) as { readImageBody: Reader }).readImageBody;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`load ${os.loadavg()[0]!.toFixed(2)}`);
const result: Record<string, Record<string, number>> = {};
for (const [body, bytes] of Object.entries(bodies)) {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, read] of Object.entries(variants)) {
      let sum = 0;
      const t0 = performance.now();
      for (let i = 0; i < ITERS; i++) sum += read(bytes)!.length;
      times[name]!.push(((performance.now() - t0) * 1000) / ITERS);
      if (sum !== ITERS * 784) throw new Error(`${name} read ${sum / ITERS} values`);
    }
  }
  result[body] = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Number(median(v).toFixed(2))]));
  console.log(`${body} (${bytes.length} bytes): ${Object.entries(result[body]!).map(([k, v]) => `${k} ${v} µs`).join(', ')}`);
}
console.log(`load ${os.loadavg()[0]!.toFixed(2)}`);
console.log(JSON.stringify(result));
