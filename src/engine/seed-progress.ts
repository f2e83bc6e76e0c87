/**
 * The seed's Redis progress entries (events/sources/redis-progress-stream.ts) applied to their
 * tasks, so a generator that only knows Redis (seed 002's serve_app.py) reports unchanged:
 *
 *   progress (RUNNING …)      → a progress event, the fraction from the percentage (`stream`
 *                               in its data says where it came from)
 *   COMPLETED/SUCCEEDED + url → the task's result `{url, …}`
 *   FAILED/ERROR              → the task fails with the seed's message (SCRIPT_ERROR)
 *
 * A result or an error ends the run through the run's own exit callback (launch.ts), the same
 * one the executor calls when the process ends: the first of the two settles the task, exactly
 * once, and the other is ignored. A generator usually exits right after its COMPLETED (seed
 * 000's Ray job does), and a Lakeray script then has more to say (its own result, its files):
 * so the process gets `graceMs` to end on its own, and its exit settles. Past that the
 * stream's outcome settles and the executor is asked to stop the process (a generator that
 * stays up, e.g. a server). The verdict resolves only once
 * what the entry says is stored (the progress event, or the settle's transaction), so the
 * stream acks after storing; a throw leaves the entry pending, to be tried again.
 */
import { setTimeout as delayFor } from 'node:timers/promises';
import { taskError } from '../domain/errors.ts';
import { isTerminal, type Task } from '../domain/task.ts';
import type { EntryVerdict } from '../events/sources/redis-progress-stream.ts';
import type { SeedProgressEntry } from '../events/sources/seed-progress-entry.ts';
import type { RunOutcome } from '../executors/executor.ts';
import type { EventWriter } from './event-writer.ts';
import type { Running } from './running-tasks.ts';

/** Entry ids remembered for deduplication; a redelivery comes within seconds (a failed ack, a claim). */
const REMEMBERED_IDS = 10_000;
const SEED_FIELDS = new Set(['task_id', 'status', 'progress', 'url', 'error']);

export interface SeedProgressDeps {
  writer: EventWriter;
  /** The run of a task this instance runs now, if it does. */
  run(id: string): Running | undefined;
  getTask(id: string): Promise<Task | null>;
  /** Resolves once the task's completion is settled and stored (Settler.whenSettled). */
  whenSettled(id: string): Promise<void>;
  now: () => number;
}

export class SeedProgress {
  /** Insertion-ordered: the oldest id is forgotten first. */
  private readonly seen = new Set<string>();

  constructor(private readonly deps: SeedProgressDeps) {}

  async apply(entry: SeedProgressEntry, graceMs: number): Promise<EntryVerdict> {
    const key = `${entry.stream}\u0000${entry.id}`;
    if (this.seen.has(key)) return 'duplicate';
    const verdict = await this.applyOnce(entry, graceMs);
    this.seen.add(key);
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.values().next().value as string);
    return verdict;
  }

  private async applyOnce(entry: SeedProgressEntry, graceMs: number): Promise<EntryVerdict> {
    const run = this.deps.run(entry.taskId);
    if (run === undefined) return this.notRunningHere(entry);
    if (entry.kind === 'progress') return this.progress(run.task, entry);
    if (run.exit === undefined) throw new Error(`task ${entry.taskId} is not launched yet; its ${entry.kind} waits`);
    const settled = this.deps.whenSettled(entry.taskId);
    const timer = new AbortController();
    const grace = delayFor(graceMs, 'grace' as const, { signal: timer.signal }).catch(() => 'grace' as const);
    const first = await Promise.race([settled.then(() => 'exited' as const), grace]).finally(() => timer.abort());
    // The process ended on its own (its outcome settled): this entry is of a finished run.
    if (first === 'exited') return 'finished_task';
    run.exit(outcome(entry));
    // The first exit settles; a process that ended meanwhile had its own outcome settle instead.
    run.executor.cancel(entry.taskId);
    await settled;
    return 'stored';
  }

  /**
   * Not running here: unknown, ended, or queued again for another attempt (the entry is of an
   * attempt that ended) → ignored and counted. A task running under another instance, or not
   * yet re-attached after a restart, takes progress; its result waits (pending) for its owner.
   */
  private async notRunningHere(entry: SeedProgressEntry): Promise<EntryVerdict> {
    const task = await this.deps.getTask(entry.taskId);
    if (task === null) return 'unknown_task';
    if (isTerminal(task.status) || task.status === 'pending') return 'finished_task';
    if (entry.kind === 'progress') return this.progress(task, entry);
    throw new Error(`task ${task.id} is ${task.status} but not followed by this server yet; its ${entry.kind} waits`);
  }

  private async progress(task: Task, entry: SeedProgressEntry): Promise<EntryVerdict> {
    // An entry without a number (`status PROCESSING` alone) carries nothing to show.
    if (entry.fraction !== null) {
      const message = entry.fields.message ?? entry.status ?? null;
      this.deps.writer.push({ task_id: task.id, tenant: task.tenant, type: 'progress', ts: this.deps.now(), data: { fraction: entry.fraction, message, stream: entry.stream } });
      await this.deps.writer.stored();
    }
    return 'stored';
  }
}

function outcome(entry: SeedProgressEntry): RunOutcome {
  if (entry.kind === 'error') return { kind: 'failed', error: taskError('SCRIPT_ERROR', entry.error ?? `the generator reported ${entry.status ?? 'an error'}`) };
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry.fields)) if (!SEED_FIELDS.has(k)) extra[k] = v;
  return { kind: 'completed', result: { ...extra, url: entry.url, status: entry.status } };
}
