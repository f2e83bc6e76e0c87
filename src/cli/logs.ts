/**
 * `lakeray logs <id> [-f]`. Without -f: pages through GET /logs. With -f: follows the
 * event stream and prints `log` events until the task ends. -f reads only the stream (it
 * replays history first) so no assumption is needed about /logs and events sharing a
 * sequence space, and a dropped connection resumes without gaps (follow.ts).
 *
 * A task with no log lines gets one line on stderr saying so and in which state the task is
 * (an empty stdout alone looks like a broken command); stdout stays the log itself, so pipes
 * and --json see only log lines.
 */
import type { Command } from 'commander';
import type { ApiTime, LogLine, TaskStatus } from './client.ts';
import { type Action, type Ctx, interruptible } from './context.ts';
import { EXIT } from './errors.ts';
import { followEvents } from './follow.ts';
import { toMs } from './format.ts';

export interface LogsOptions {
  follow?: boolean;
  timestamps?: boolean;
}

const MAX_PAGES = 100_000;

function printLine(ctx: Ctx, o: LogsOptions, line: { ts: ApiTime; message: string }): void {
  const ms = toMs(line.ts);
  const prefix = o.timestamps && ms !== null ? `${new Date(ms).toISOString()} ` : '';
  // Messages may or may not carry their own newline; print exactly one.
  ctx.out(prefix + line.message.replace(/\r?\n$/, ''));
}

/** Why there is nothing to show, for a task in `status`. */
export function noLogsNote(id: string, status: TaskStatus): string {
  switch (status) {
    case 'pending':
      return `task ${id} is pending: it has not started, so it has no log lines yet (lakeray logs ${id} -f waits for them)`;
    case 'running':
    case 'cancelling':
      return `task ${id} is ${status} and has logged nothing yet (lakeray logs ${id} -f follows it)`;
    default:
      return `task ${id} ${status} without logging anything (no output on stdout or stderr, no ctx.log)`;
  }
}

async function sayNoLogs(ctx: Ctx, id: string): Promise<void> {
  const task = await ctx.client.get(id);
  ctx.err(noLogsNote(id, task.status));
}

async function printHistory(ctx: Ctx, id: string, o: LogsOptions): Promise<number> {
  const all: LogLine[] = [];
  let after: number | undefined;
  let nextSeq = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await ctx.client.logs(id, after);
    nextSeq = res.next_seq;
    // Resume after the last seq actually received (not next_seq, whose off-by-one is the
    // server's choice), and drop anything at or below it so paging can never loop or repeat.
    const fresh = res.lines.filter((l) => after === undefined || l.seq > after);
    if (!fresh.length) break;
    if (ctx.json) all.push(...fresh);
    else for (const l of fresh) printLine(ctx, o, l);
    after = fresh.reduce((m, l) => Math.max(m, l.seq), after ?? -Infinity);
  }
  if (ctx.json) ctx.printJson({ lines: all, next_seq: nextSeq });
  else if (after === undefined) await sayNoLogs(ctx, id);
  return EXIT.OK;
}

async function follow(ctx: Ctx, id: string, o: LogsOptions): Promise<number> {
  const interrupt = interruptible(ctx.io.signals);
  try {
    const events = followEvents(ctx.client, id, {
      signal: interrupt.signal,
      reconnectDelayMs: ctx.io.reconnectDelayMs,
      onReconnect: (seq) => ctx.err(`(connection lost; resuming after event ${seq ?? 'start'})`),
    });
    let printed = 0;
    for await (const e of events) {
      if (e.type !== 'log') continue;
      const line = { seq: e.seq, ts: e.ts, stream: String(e.data.stream ?? 'stdout'), message: String(e.data.message ?? '') };
      if (ctx.json) ctx.printJson(line, true);
      else printLine(ctx, o, line);
      printed++;
    }
    if (interrupt.signal.aborted) return EXIT.INTERRUPTED;
    if (printed === 0 && !ctx.json) await sayNoLogs(ctx, id);
    return EXIT.OK;
  } finally {
    interrupt.release();
  }
}

export function registerLogs(program: Command, action: Action): void {
  program
    .command('logs')
    .description("print a task's log lines")
    .argument('<id>', 'task id')
    .option('-f, --follow', 'keep printing new lines until the task ends')
    .option('-t, --timestamps', 'prefix each line with its time')
    .action((id: string, opts: LogsOptions, cmd: Command) =>
      action(cmd, (ctx) => (opts.follow ? follow(ctx, id, opts) : printHistory(ctx, id, opts))),
    );
}
