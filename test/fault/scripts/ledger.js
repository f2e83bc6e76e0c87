// ledger.py for the local pool (node): a line per run() entered and returned, in a file of the task's own.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export async function run(_input, _output, params, ctx) {
  const note = (what) => appendFileSync(join(params.ledger, ctx.task_id), `${ctx.task_id} ${ctx.attempt} ${what}\n`);
  note('run');
  await new Promise((r) => setTimeout(r, params.ms ?? 5));
  note('ret');
  return { task_id: ctx.task_id, attempt: ctx.attempt };
}
