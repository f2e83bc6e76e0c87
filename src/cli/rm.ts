/** `lakeray rm <id>`: deletes a finished task and its events (the server refuses active ones). */
import type { Command } from 'commander';
import type { Action, Ctx } from './context.ts';
import { EXIT } from './errors.ts';

export async function removeTask(ctx: Ctx, id: string): Promise<number> {
  await ctx.client.remove(id);
  if (ctx.json) ctx.printJson({ id, deleted: true });
  else ctx.out(`deleted ${id}`);
  return EXIT.OK;
}

export function registerRm(program: Command, action: Action): void {
  program
    .command('rm')
    .description('delete a finished task')
    .argument('<id>', 'task id')
    .action((id: string, _opts: unknown, cmd: Command) => action(cmd, (ctx) => removeTask(ctx, id)));
}
