/**
 * The same first task in TypeScript: run(inputPath, outputPath, params, ctx).
 *
 *   lakeray submit hello/hello.ts -p steps=5 --watch
 */
import { writeFile } from 'node:fs/promises';

interface Ctx {
  progress(fraction: number, message?: string): void;
  log(message: string): void;
  signal: AbortSignal;
}

export async function run(_input: string | null, output: string | null, params: { steps?: number; delay_ms?: number }, ctx: Ctx) {
  const steps = params.steps ?? 5;
  for (let i = 1; i <= steps; i++) {
    if (ctx.signal?.aborted) throw new Error('cancelled');
    await new Promise((r) => setTimeout(r, params.delay_ms ?? 100));
    ctx.progress(i / steps, `step ${i} of ${steps}`);
  }
  const result = { steps, finished_at: new Date().toISOString() };
  if (output) await writeFile(output, JSON.stringify(result));
  return result;
}
