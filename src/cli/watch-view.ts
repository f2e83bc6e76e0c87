/**
 * How `lakeray watch` shows a task. Three renderings of the same event stream:
 * - TTY: state changes as lines, plus one progress bar line redrawn in place with \r
 *   (cleared before any other line is printed, redrawn after it);
 * - plain (stdout is a pipe/file): one line per state change and per visible progress change;
 * - JSON: exactly one compact JSON line per event, nothing else on stdout.
 */
import type { TaskEventJson, TaskJson } from './client.ts';
import type { Ctx } from './context.ts';
import { formatDuration, formatPercent, formatQueuePosition, formatValue, toMs } from './format.ts';
import { EtaEstimator, renderBar } from './progress-bar.ts';

export interface WatchView {
  snapshot(task: TaskJson): void;
  event(e: TaskEventJson): void;
  /** A side note (reconnects) that must not corrupt the output. */
  note(text: string): void;
  /** Redraw time-dependent parts (elapsed, ETA). */
  tick(): void;
  /** Final report for a task that ended; `task` is the authoritative last snapshot if we got it. */
  finish(status: string, task: TaskJson | undefined): void;
  /** Remove the live line (interrupt). */
  clear(): void;
}

export class JsonWatchView implements WatchView {
  constructor(private readonly ctx: Ctx) {}
  snapshot(): void {}
  event(e: TaskEventJson): void {
    this.ctx.printJson(e, true);
  }
  note(text: string): void {
    this.ctx.err(text);
  }
  tick(): void {}
  finish(): void {}
  clear(): void {}
}

const CLEAR_LINE = '\r\x1b[K';

export class HumanWatchView implements WatchView {
  private status = '';
  private startedAt: number | null = null;
  private fraction = 0;
  private message: string | null = null;
  private plainLast = '';
  private barShown = false;
  private result: unknown;
  private error: { code: string; message: string } | null = null;
  private readonly eta = new EtaEstimator();

  constructor(
    private readonly ctx: Ctx,
    private readonly opts: { logs?: boolean; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  snapshot(t: TaskJson): void {
    this.status = t.status;
    this.startedAt = toMs(t.started_at);
    if (this.startedAt !== null) this.eta.start(this.startedAt);
    const where = t.status === 'pending' ? ` (${formatQueuePosition(t.queue_position)})` : '';
    this.line(`task ${t.id} ${t.name ? `(${t.name}) ` : ''}${t.status}${where}`);
    if (t.progress) this.setProgress(t.progress.fraction, t.progress.message, this.now(), t.progress.eta_s, t.progress);
    this.draw();
  }

  event(e: TaskEventJson): void {
    const d = e.data;
    const at = toMs(e.ts) ?? this.now();
    switch (e.type) {
      case 'state': {
        const status = String(d.status);
        if (status === this.status) return;
        this.status = status;
        if (status === 'running') {
          this.startedAt = at;
          this.eta.start(at);
          this.fraction = 0;
          this.message = null;
        }
        // The terminal line is printed by finish(), with the final snapshot's durations.
        if (status !== 'completed' && status !== 'failed' && status !== 'cancelled') {
          const attempt = status === 'running' && typeof d.attempt === 'number' ? ` (attempt ${d.attempt})` : '';
          this.line(`${status}${attempt}`);
        }
        break;
      }
      case 'progress':
        this.setProgress(Number(d.fraction), (d.message as string | null) ?? null, at, d.eta_s as number | undefined, d);
        break;
      case 'log':
        if (this.opts.logs) this.line(String(d.message ?? ''));
        break;
      case 'result':
        this.result = d.value;
        break;
      case 'service': {
        // A service task's supervisor: starting / ready / restarting / stopped.
        const state = String(d.state);
        const port = typeof d.port === 'number' ? ` on port ${d.port}` : '';
        const via = state === 'ready' ? `, proxied at /api/v1/services/${e.task_id}/` : '';
        this.line(`service ${state}${port}${via}`);
        break;
      }
      case 'error':
        this.error = { code: String(d.code ?? 'ERROR'), message: String(d.message ?? '') };
        break;
    }
    this.draw();
  }

  note(text: string): void {
    this.clear();
    this.ctx.err(text);
    this.draw();
  }

  tick(): void {
    this.draw();
  }

  finish(status: string, task: TaskJson | undefined): void {
    this.clear();
    this.status = status;
    const started = toMs(task?.started_at) ?? this.startedAt;
    const finished = toMs(task?.finished_at) ?? this.now();
    const took = started === null ? '' : ` in ${formatDuration(finished - started)}`;
    this.ctx.out(`${status}${took}`);
    if (status === 'completed') {
      const result = task ? task.result : this.result;
      if (result !== undefined && result !== null) this.ctx.out(`result: ${formatValue(result)}`);
    } else if (status === 'failed') {
      const err = task?.error ?? this.error;
      this.ctx.err(err ? `error ${err.code}: ${err.message}` : 'error: the task failed');
    }
  }

  clear(): void {
    if (!this.barShown) return;
    this.ctx.io.stdout.write(CLEAR_LINE);
    this.barShown = false;
  }

  private setProgress(fraction: number, message: string | null, at: number, etaS?: number | null, d?: { step?: unknown; total?: unknown }): void {
    this.fraction = Number.isFinite(fraction) ? fraction : this.fraction;
    this.message = message;
    this.eta.add(at, this.fraction, etaS);
    if (this.ctx.isTTY) return;
    const step = d && typeof d.step === 'number' && typeof d.total === 'number' ? ` [${d.step}/${d.total}]` : '';
    const text = `progress ${formatPercent(this.fraction)}${step}${message ? ` ${message}` : ''}`;
    // Coalesced server-side updates can still repeat the same visible line; print changes only.
    if (text !== this.plainLast) this.line(text);
    this.plainLast = text;
  }

  /** Prints a full line, keeping the live bar below it. */
  private line(text: string): void {
    this.clear();
    this.ctx.out(text);
  }

  private draw(): void {
    if (!this.ctx.isTTY || this.status !== 'running' || this.startedAt === null) return;
    const now = this.now();
    const bar = renderBar({
      fraction: this.fraction,
      elapsedMs: now - this.startedAt,
      etaS: this.eta.etaS(now),
      message: this.message,
      width: this.ctx.columns,
    });
    this.ctx.io.stdout.write(`\r${bar}\x1b[K`);
    this.barShown = true;
  }
}
