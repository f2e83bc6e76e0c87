// The fault suite's mixed task (multi-process.test.ts): `kind` noop returns at once, sleep
// reports `steps` progress events `step_ms` apart, fail throws. Each process that runs it
// leaves a file named by its pid in params.pids, so the test can check afterwards that none of
// them outlived the run (no orphaned script process).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let noted = false;

export async function run(_input, _output, params, ctx) {
  if (!noted && params.pids) {
    writeFileSync(join(params.pids, String(process.pid)), '');
    noted = true;
  }
  if (params.kind === 'fail') throw new Error('fails on purpose');
  const steps = params.kind === 'sleep' ? (params.steps ?? 3) : 0;
  for (let i = 1; i <= steps; i++) {
    await new Promise((r) => setTimeout(r, params.step_ms ?? 20));
    ctx.progress(i / steps, `step ${i} of ${steps}`);
  }
  return { ok: true };
}
