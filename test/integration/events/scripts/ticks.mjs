// Logs a tick every `every_ms` until the file `params.stop` exists, then returns how many it logged.
import { existsSync } from 'node:fs';

export async function run(_input, _output, params, ctx) {
  let ticks = 0;
  while (!existsSync(params.stop)) {
    ctx.log(`tick ${ticks++}`);
    await new Promise((r) => setTimeout(r, params.every_ms ?? 20));
  }
  return { ticks };
}
