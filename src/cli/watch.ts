/**
 * `lakeray watch <id>`: follows a task until it ends and exits with its outcome:
 *   0 completed (prints the result) · 1 failed (prints the error) · 3 cancelled ·
 *   130 when the user presses Ctrl-C (watching stops; the task keeps running).
 * The event stream resumes after a dropped connection (follow.ts), so no event is missed.
 */
import type { Command } from 'commander';
import { TERMINAL_STATUSES, type TaskJson } from './client.ts';
import { type Action, type Ctx, interruptible } from './context.ts';
import { EXIT } from './errors.ts';
import { followEvents, isTerminalEvent } from './follow.ts';
import { HumanWatchView, JsonWatchView, type WatchView } from './watch-view.ts';

const OUTCOME: Record<string, number> = { completed: EXIT.OK, failed: EXIT.ERROR, cancelled: EXIT.CANCELLED };

export interface WatchOptions {
  logs?: boolean;
}

export async function watchTask(ctx: Ctx, id: string, o: WatchOptions = {}): Promise<number> {
  const view: WatchView = ctx.json ? new JsonWatchView(ctx) : new HumanWatchView(ctx, { logs: o.logs === true });
  const interrupt = interruptible(ctx.io.signals);
  let timer: NodeJS.Timeout | undefined;
  try {
    // The snapshot gives the start time and queue position before the first event arrives,
    // and turns an unknown id into a clean TASK_NOT_FOUND.
    const first = await ctx.client.get(id);
    // A finished task has nothing to follow: humans get the outcome (JSON still gets the
    // replayed events, which are its output).
    if (!ctx.json && TERMINAL_STATUSES.has(first.status)) {
      view.finish(first.status, first);
      return OUTCOME[first.status] ?? EXIT.ERROR;
    }
    view.snapshot(first);
    if (ctx.isTTY && !ctx.json) timer = setInterval(() => view.tick(), 200).unref();
    let final: string | undefined;
    const events = followEvents(ctx.client, id, {
      // Humans already saw the snapshot: continue after it. JSON replays the whole log,
      // since the events are that output.
      after: ctx.json ? undefined : first.last_seq,
      signal: interrupt.signal,
      reconnectDelayMs: ctx.io.reconnectDelayMs,
      onReconnect: (seq, reason) =>
        view.note(`connection lost (${reason}); resuming after event ${seq ?? 'start'}`),
    });
    for await (const e of events) {
      view.event(e);
      if (isTerminalEvent(e)) final = String(e.data.status);
    }
    if (final === undefined) {
      view.clear();
      ctx.err(`stopped watching ${id}; the task keeps running (stop it with: lakeray cancel ${id})`);
      return EXIT.INTERRUPTED;
    }
    // The final snapshot is authoritative for result and error (events may be coalesced).
    const task: TaskJson | undefined = await ctx.client.get(id).catch(() => undefined);
    view.finish(final, task);
    return OUTCOME[final] ?? EXIT.ERROR;
  } finally {
    if (timer) clearInterval(timer);
    interrupt.release();
  }
}

export function registerWatch(program: Command, action: Action): void {
  program
    .command('watch')
    .description('follow a task with a live progress bar until it ends (exit 0 completed, 1 failed, 3 cancelled, 130 Ctrl-C)')
    .argument('<id>', 'task id')
    .option('--logs', "also print the task's log lines")
    .action((id: string, opts: WatchOptions, cmd: Command) => action(cmd, (ctx) => watchTask(ctx, id, opts)));
}
