/** `lakeray tasks`: lists tasks as a table (or `{tasks, next_cursor}` with --json). */
import type { Command } from 'commander';
import type { TaskJson } from './client.ts';
import type { Action, Ctx } from './context.ts';
import { EXIT } from './errors.ts';
import { formatTaskTable } from './format.ts';
import { number, statusList } from './options.ts';

export interface TasksOptions {
  status?: string[];
  name?: string;
  executor?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
}

/** A server that keeps returning cursors must not make `--all` loop forever. */
const MAX_PAGES = 10_000;

export async function listTasks(ctx: Ctx, o: TasksOptions): Promise<number> {
  const tasks: TaskJson[] = [];
  let cursor = o.cursor;
  let next: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await ctx.client.list({ status: o.status, name: o.name, executor: o.executor, limit: o.limit, cursor });
    tasks.push(...res.tasks);
    next = res.next_cursor ?? null;
    if (!o.all || !next || next === cursor) break;
    cursor = next;
  }
  if (o.all) next = null;
  if (ctx.json) {
    ctx.printJson({ tasks, next_cursor: next });
    return EXIT.OK;
  }
  if (!tasks.length) ctx.out('no tasks');
  else ctx.out(formatTaskTable(tasks, Date.now()));
  if (next) ctx.out(`more: lakeray tasks --cursor ${next}   (or --all)`);
  return EXIT.OK;
}

export function registerTasks(program: Command, action: Action): void {
  program
    .command('tasks')
    .alias('ls')
    .description('list tasks')
    .option('--status <list>', 'only these statuses, comma-separated (pending,running,…)', statusList)
    .option('--name <name>', 'only tasks with this name')
    .option('--executor <name>', 'only tasks on this executor')
    .option('--limit <n>', 'page size', number({ int: true, min: 1 }))
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow cursors to list every match')
    .action((opts: TasksOptions, cmd: Command) => action(cmd, (ctx) => listTasks(ctx, opts)));
}
