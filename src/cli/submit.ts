/**
 * `lakeray submit <script>`: builds a POST /api/v1/tasks body from flags and prints the new
 * task's id (just the id, so `id=$(lakeray submit …)` works), or its JSON with --json.
 * With --watch it then follows the task and exits with the task's outcome (see watch.ts).
 */
import type { Command } from 'commander';
import type { ResourcesJson, SubmitBody } from './client.ts';
import type { Action, Ctx } from './context.ts';
import { EXIT } from './errors.ts';
import { collect, number, parseDurationS } from './options.ts';
import { buildLabels, buildParams } from './params.ts';
import { watchTask } from './watch.ts';

export interface SubmitOptions {
  input?: string;
  output?: string;
  param: string[];
  paramsJson?: string;
  label: string[];
  name?: string;
  gpu?: number;
  cpu?: number;
  memoryMb?: number;
  priority?: number;
  timeout?: number;
  maxAttempts?: number;
  pool?: string;
  executor?: string;
  watch?: boolean;
  logs?: boolean;
}

/** Only what the user set goes in the body: the server owns every default. */
export function buildSubmitBody(script: string, o: SubmitOptions): SubmitBody {
  const body: SubmitBody = { script };
  if (o.name !== undefined) body.name = o.name;
  if (o.input !== undefined) body.input = o.input;
  if (o.output !== undefined) body.output = o.output;
  const params = buildParams(o.param, o.paramsJson);
  if (Object.keys(params).length || o.paramsJson !== undefined) body.params = params;
  if (o.executor !== undefined) body.executor = o.executor;
  if (o.pool !== undefined) body.pool = o.pool;
  const resources: ResourcesJson = {};
  if (o.cpu !== undefined) resources.cpu = o.cpu;
  if (o.memoryMb !== undefined) resources.memory_mb = o.memoryMb;
  if (o.gpu !== undefined) resources.gpu = o.gpu;
  if (Object.keys(resources).length) body.resources = resources;
  if (o.priority !== undefined) body.priority = o.priority;
  if (o.timeout !== undefined) body.timeout_s = o.timeout;
  if (o.maxAttempts !== undefined) body.max_attempts = o.maxAttempts;
  if (o.label.length) body.labels = buildLabels(o.label);
  return body;
}

export async function submit(ctx: Ctx, script: string, o: SubmitOptions): Promise<number> {
  const task = await ctx.client.submit(buildSubmitBody(script, o));
  // With --watch --json the output is a stream of JSON lines: the task, then its events.
  if (ctx.json) ctx.printJson(task, o.watch === true);
  else ctx.out(task.id);
  if (!o.watch) return EXIT.OK;
  return watchTask(ctx, task.id, { logs: o.logs === true });
}

export function registerSubmit(program: Command, action: Action): void {
  program
    .command('submit')
    .description('submit a script as a task; prints its id')
    .argument('<script>', 'script path inside a script root (e.g. mnist/mnist_cnn.py)')
    .option('--input <path>', 'input path or dataset name')
    .option('--output <path>', 'output path or dataset/model name')
    .option('-p, --param <key=value>', 'a param; JSON values keep their type, dotted keys nest (repeatable)', collect, [])
    .option('--params-json <json>', 'params as a JSON object (-p values override its fields)')
    .option('--name <name>', 'task name (default: the script file name)')
    .option('--gpu <n>', 'GPUs', number({ int: true, min: 0 }))
    .option('--cpu <n>', 'CPU cores', number({ min: 0 }))
    .option('--memory-mb <n>', 'memory in MB', number({ min: 0 }))
    .option('--priority <n>', 'higher runs first (-1000..1000)', number({ int: true, min: -1000, max: 1000 }))
    .option('--timeout <duration>', 'time limit: seconds or 90s, 10m, 2h', parseDurationS)
    .option('--max-attempts <n>', 'attempts including the first', number({ int: true, min: 1 }))
    .option('--pool <name>', 'warm pool to run in')
    .option('--executor <name>', 'executor (default: the server default)')
    .option('--label <key=value>', 'a label (repeatable)', collect, [])
    .option('-w, --watch', 'follow the task until it ends (exit codes as `watch`)')
    .option('--logs', 'with --watch: also print log lines')
    .action((script: string, opts: SubmitOptions, cmd: Command) => action(cmd, (ctx) => submit(ctx, script, opts)));
}
