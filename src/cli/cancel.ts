/** `lakeray cancel <id>`: asks the server to cancel; a running task passes through `cancelling`. */
import type { Command } from 'commander';
import type { Action, Ctx } from './context.ts';
import { EXIT } from './errors.ts';

export async function cancelTask(ctx: Ctx, id: string): Promise<number> {
  const task = await ctx.client.cancel(id);
  if (ctx.json) ctx.printJson(task);
  else ctx.out(`${task.id} ${task.status}${task.status === 'cancelling' ? ' (stopping the process)' : ''}`);
  return EXIT.OK;
}

export function registerCancel(program: Command, action: Action): void {
  program
    .command('cancel')
    .description('cancel a queued or running task')
    .argument('<id>', 'task id')
    .action((id: string, _opts: unknown, cmd: Command) => action(cmd, (ctx) => cancelTask(ctx, id)));
}
