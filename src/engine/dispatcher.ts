/**
 * The dispatcher: starts queued tasks that fit, and settles them when their process ends.
 *
 * Mode machine of one dispatch round (per executor):
 *   wake() ─▶ [round scheduled on setImmediate] ─▶ read candidates ─▶ schedule() (pure policy)
 *     ─▶ hold resources + GPUs in the ledger ─▶ CAS queued→running (one transaction)
 *     ─▶ executor.run() ─▶ repeat while the round admitted a full window.
 * It is woken by submits, completions, cancels and retry timers — never by a polling loop.
 * Completions are settled in batches (up to half of what is in flight, one store transaction
 * per turn); that transaction also claims what the released capacity admits from the view of
 * the queue (one commit, not two).
 */
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { Config } from '../config/schema.ts';
import { taskError } from '../domain/errors.ts';
import { schedule } from '../domain/scheduling.ts';
import type { Assignment, Task } from '../domain/task.ts';
import type { Executor, RunOutcome } from '../executors/executor.ts';
import type { TaskStore, TransitionRequest, TransitionResult } from '../store/task-store.ts';
import { RunArtifacts } from './artifact-ingest.ts';
import type { EventWriter } from './event-writer.ts';
import { CandidateView, readCandidates } from './candidates.ts';
import { finalTransition } from './settlement.ts';
import { Ledger } from './ledger.ts';
import type { EngineObserver } from './observer.ts';

/** Candidates read per round, in dispatch order (see readCandidates()); a full window triggers another round at once. */
const WINDOW = 512;
/** A settle transaction takes at least this many completions (see settle()). */
const MIN_SETTLE_CHUNK = 16;
/** How long a view of the queue head is trusted without a re-read (other servers). */
const VIEW_TTL_MS = 1000;

interface Running {
  task: Task;
  executor: Executor;
  startedAt: number;
  cancelRequested: boolean;
  timedOut: boolean;
  /** Stopped by a graceful shutdown: requeue without using up an attempt. */
  shutdown: boolean;
  timer: NodeJS.Timeout | null;
}

/** Tasks held in an executor's ledger, with the CASes that claim them. */
interface Claim {
  executor: Executor;
  ledger: Ledger;
  held: Task[];
  requests: TransitionRequest[];
  now: number;
}

interface Completion {
  id: string;
  outcome: RunOutcome;
}

export interface DispatcherDeps {
  store: TaskStore;
  executors: ReadonlyMap<string, Executor>;
  writer: EventWriter;
  observer: EngineObserver;
  config: Readonly<Config>;
  instanceId: string;
  /** Where reported files go (artifact-ingest.ts); without it, artifact events pass as they are. */
  artifacts?: ArtifactStore;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

/** A claim's transaction failed: give its tasks' resources back. */
const unhold = (claim: Claim): void => {
  for (const t of claim.held) claim.ledger.release(t.id);
};

/** What the scheduling policy admits from the view into the ledger's free capacity, taken out of the view. */
const admit = (view: CandidateView, ledger: Ledger): Task[] =>
  view.take(schedule({ candidates: view.candidates, capacity: ledger.capacity, free: ledger.free, usage: ledger.byTenant }).admit);

export class Dispatcher {
  readonly ledgers = new Map<string, Ledger>();
  private readonly views = new Map<string, CandidateView>();
  private readonly running = new Map<string, Running>();
  private completions: Completion[] = [];
  private placements: { id: string; assignment: Assignment }[] = [];
  /** Cancels that arrived between a task's claim and its launch. */
  private readonly pendingCancels = new Set<string>();
  private roundState: 'idle' | 'scheduled' | 'running' | 'rerun' = 'idle';
  private settleState: 'idle' | 'scheduled' | 'running' = 'idle';
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAt = Infinity;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    for (const [name, ex] of deps.executors) {
      this.ledgers.set(name, new Ledger(ex.capacity, ex.gpuInventory));
      this.views.set(name, new CandidateView(WINDOW, VIEW_TTL_MS));
    }
  }

  get runningIds(): string[] {
    return [...this.running.keys()];
  }

  isRunningHere(id: string): boolean {
    return this.running.has(id);
  }

  /** Something became queued: the next round re-reads the queue head. */
  queueChanged(): void {
    for (const view of this.views.values()) view.invalidate();
    this.wake();
  }

  /** Ask for a dispatch round; rounds never overlap (a wake during one runs another after it). */
  wake(): void {
    if (this.stopped) return;
    if (this.roundState === 'running') this.roundState = 'rerun';
    if (this.roundState !== 'idle') return;
    this.roundState = 'scheduled';
    setImmediate(() => void this.runRounds());
  }

  private async runRounds(): Promise<void> {
    do {
      this.roundState = 'running';
      try {
        await this.round();
      } catch (err) {
        this.deps.onError?.(err, 'dispatch round');
      }
      // wake() may have set 'rerun' while the round awaited the store.
    } while ((this.roundState as string) === 'rerun' && !this.stopped);
    this.roundState = 'idle';
  }

  /** Wake again at `at` (a retry's backoff ends); keeps only the earliest timer. */
  wakeAt(at: number): void {
    if (at >= this.retryAt || this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = Infinity;
      this.queueChanged();
    }, Math.max(0, at - this.now()));
    this.retryTimer.unref();
  }

  private async round(): Promise<void> {
    for (const [name, executor] of this.deps.executors) {
      const ledger = this.ledgers.get(name) as Ledger;
      const view = this.views.get(name) as CandidateView;
      for (;;) {
        if (this.stopped) return;
        const now = this.now();
        if (view.needsFetch(now)) view.fill(await readCandidates(this.deps.store, name, now, WINDOW), now);
        if (view.candidates.length === 0) break;
        const admitted = admit(view, ledger);
        if (admitted.length === 0) break;
        await this.start(executor, ledger, admitted, now);
        // Everything in view was admitted: there may be more behind it.
        if (view.candidates.length > 0) break;
      }
    }
  }

  private async start(executor: Executor, ledger: Ledger, tasks: Task[], now: number): Promise<void> {
    const claim = this.prepareClaim(executor, ledger, tasks, now);
    let results: (TransitionResult | null)[];
    try {
      results = await this.deps.store.transition(claim.requests);
    } catch (err) {
      unhold(claim);
      throw err;
    }
    this.launchClaimed(claim, results);
  }

  /** Holds resources for `tasks` in the ledger and builds their queued → running CASes. */
  private prepareClaim(executor: Executor, ledger: Ledger, tasks: Task[], now: number): Claim {
    const leaseMs = this.deps.config.tasks.lease_ms;
    const requests: TransitionRequest[] = [];
    const held: Task[] = [];
    for (const t of tasks) {
      const gpus = ledger.hold(t.id, t.tenant, t.resources);
      if (gpus === null) continue; // devices fragmented; next round
      held.push(t);
      requests.push({
        id: t.id,
        from: ['queued'],
        to: 'running',
        patch: {
          attempt: t.attempt + 1,
          started_at: now,
          not_before: null,
          lease_owner: this.deps.instanceId,
          lease_expires_at: now + leaseMs,
          assignment: { gpus },
        },
        event: { attempt: t.attempt + 1, ...(gpus.length ? { gpus } : {}) },
        now,
      });
    }
    return { executor, ledger, held, requests, now };
  }

  /** After the CASes of a claim: launch the tasks that were claimed, release the others. */
  private launchClaimed({ executor, ledger, held, now }: Claim, results: readonly (TransitionResult | null)[]): void {
    const events = [];
    for (let i = 0; i < held.length; i++) {
      const t = held[i] as Task;
      const r = results[i];
      if (!r) {
        ledger.release(t.id); // cancelled or claimed meanwhile
        continue;
      }
      events.push(r.event);
      const run: Running = { task: r.task, executor, startedAt: now, cancelRequested: false, timedOut: false, shutdown: false, timer: null };
      this.running.set(t.id, run);
      this.deps.observer.dispatched(executor.name, Math.max(0, now - (t.not_before ?? t.created_at)) / 1000);
    }
    this.deps.writer.published(events);
    for (const e of events) {
      const run = this.running.get(e.task_id) as Running;
      if (run.task.timeout_s !== null) {
        run.timer = setTimeout(() => this.timeout(run), run.task.timeout_s * 1000);
        run.timer.unref();
      }
      this.launch(run);
      if (this.pendingCancels.delete(run.task.id)) this.cancelRunning(run.task.id);
    }
  }

  /**
   * The claims that settling a batch makes possible at once: for each executor whose view of
   * the queue is fresh, what the policy admits into the capacity just released. They go in the
   * settle's transaction (one commit for both); a view that needs a re-read is left to the round.
   */
  private claimsAfterSettle(now: number): Claim[] {
    if (this.stopped) return [];
    const claims: Claim[] = [];
    for (const [name, executor] of this.deps.executors) {
      const view = this.views.get(name) as CandidateView;
      if (view.needsFetch(now) || view.candidates.length === 0) continue;
      const ledger = this.ledgers.get(name) as Ledger;
      const admitted = admit(view, ledger);
      if (admitted.length > 0) claims.push(this.prepareClaim(executor, ledger, admitted, now));
    }
    return claims;
  }

  private launch(run: Running): void {
    const { task, executor } = run;
    const gpus = task.assignment?.gpus ?? [];
    const deps = this.deps;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the callbacks below are methods (see the note on them)
    const dispatcher = this;
    let exited = false;
    let artifacts: RunArtifacts | null = null;
    // Methods, not arrow functions bound to names: tsx (esbuild keepNames) wraps every named
    // arrow in a defineProperty call, paid per task here.
    const on = {
      push(type: Parameters<RunArtifacts['event']>[0], data: Record<string, unknown>): void {
        deps.writer.push({ task_id: task.id, tenant: task.tenant, type, ts: dispatcher.now(), data });
      },
      /** With an artifact store, the run's end first waits for its files to be in the store. */
      end(outcome: RunOutcome): void {
        if (artifacts === null) return dispatcher.complete(task.id, outcome);
        if (!artifacts.mustWait) {
          // The harness removed its work dir, unless the process died or was killed first.
          if (outcome.kind !== 'succeeded') artifacts.discardStaging();
          return dispatcher.complete(task.id, outcome);
        }
        void artifacts.finish(outcome, () => run.cancelRequested || run.shutdown).then((o) => dispatcher.complete(task.id, o));
      },
    };
    if (deps.artifacts) artifacts = new RunArtifacts(task.id, deps.artifacts, on.push, deps.onError);
    try {
      executor.run(task, gpus, {
        started(info) {
          // A warm worker's pid needs no record: workers carry the executor's owner marker and
          // are found by it after a crash. A cold process per task is worth one write.
          if (info.pid === undefined || info.worker !== 'cold') return;
          const assignment = { gpus: [...gpus], pid: info.pid, ...(info.worker ? { worker: info.worker } : {}) };
          task.assignment = assignment;
          dispatcher.placed({ id: task.id, assignment });
        },
        event(type, data) {
          if (artifacts === null) on.push(type, data);
          else artifacts.event(type, data);
        },
        exit(outcome) {
          if (exited) return;
          exited = true;
          on.end(outcome);
        },
      });
    } catch (err) {
      exited = true;
      on.end({ kind: 'failed', error: taskError('EXECUTOR_ERROR', (err as Error).message) });
    }
  }

  /** Placements of one tick are written together. */
  private placed(p: { id: string; assignment: Assignment }): void {
    this.placements.push(p);
    if (this.placements.length > 1) return;
    setImmediate(() => {
      const batch = this.placements;
      this.placements = [];
      this.deps.store.recordPlacements(this.deps.instanceId, batch).catch((err) => this.deps.onError?.(err, 'record placements'));
    });
  }

  private timeout(run: Running): void {
    run.timedOut = true;
    run.executor.cancel(run.task.id, this.deps.config.executors.local.kill_grace_ms);
  }

  /** A user cancel of a task that runs here: the CAS to cancelling already happened. */
  cancelRunning(id: string): boolean {
    const run = this.running.get(id);
    if (!run) {
      // Claimed by a round that has not launched it yet: cancel right after launch.
      this.pendingCancels.add(id);
      return false;
    }
    run.cancelRequested = true;
    run.executor.cancel(id, this.deps.config.executors.local.kill_grace_ms);
    return true;
  }

  private complete(id: string, outcome: RunOutcome): void {
    this.completions.push({ id, outcome });
    if (this.settleState !== 'idle') return;
    this.settleState = 'scheduled';
    setImmediate(() => void this.runSettles());
  }

  private async runSettles(): Promise<void> {
    this.settleState = 'running';
    try {
      await this.settle();
    } catch (err) {
      this.deps.onError?.(err, 'settle completions');
    }
    if (this.completions.length === 0) {
      this.settleState = 'idle';
      return;
    }
    // The rest in a later turn, after the jobs this settle launched are written to their
    // workers (at the end of this turn): they run while this thread settles the rest.
    this.settleState = 'scheduled';
    setImmediate(() => void this.runSettles());
  }

  /**
   * Settles up to half of what is in flight in one transaction (which also claims what the
   * released capacity admits). Half, so that work is always in flight in two groups: while
   * workers run one group's jobs, this thread settles the other's completions. Settling every
   * completion at once puts all of the in-flight work in one lockstep batch, and this thread
   * then waits for the workers every cycle (the throughput bench: ~12% fewer tasks a second).
   */
  private async settle(): Promise<void> {
    const chunk = Math.max(MIN_SETTLE_CHUNK, Math.ceil(this.running.size / 2));
    const batch = this.completions.length > chunk ? this.completions.splice(0, chunk) : this.completions;
    if (batch === this.completions) this.completions = [];
    const now = this.now();
    const requests: TransitionRequest[] = [];
    const runs: Running[] = [];
    for (const { id, outcome } of batch) {
      const run = this.running.get(id);
      if (!run) continue;
      this.running.delete(id);
      if (run.timer) clearTimeout(run.timer);
      this.ledgers.get(run.task.executor)?.release(id);
      requests.push(finalTransition(run.task, run, outcome, now, this.deps.instanceId));
      runs.push(run);
    }
    // Progress and logs are stored before the state that ends the task (the result goes
    // with the state, in its transaction).
    await this.deps.writer.flush();
    // The capacity released here is claimed again in the same transaction.
    const claims = this.claimsAfterSettle(now);
    let all: (TransitionResult | null)[];
    try {
      all = await this.deps.store.transition(claims.length === 0 ? requests : [...requests, ...claims.flatMap((c) => c.requests)]);
    } catch (err) {
      claims.forEach(unhold);
      throw err;
    }
    const results = all.slice(0, requests.length);
    // A CAS that lost means the task moved to cancelling meanwhile (a cancel raced the
    // process's end): it ends cancelled, as its process is gone.
    const lost = runs.filter((_, i) => !results[i]);
    const fallback = lost.length
      ? await this.deps.store.transition(
          lost.map((run) => ({
            id: run.task.id,
            from: ['cancelling'] as const,
            to: 'cancelled' as const,
            lease_owner: this.deps.instanceId,
            patch: { finished_at: now, lease_owner: null, lease_expires_at: null },
            event: { reason: 'user' },
            now,
          })),
        )
      : [];
    const events = [];
    for (let i = 0, j = 0; i < results.length; i++) {
      const r = results[i] ?? fallback[j++];
      if (!r) continue;
      events.push(...r.before, r.event);
      const run = runs[i] as Running;
      if (r.task.status === 'queued') {
        if (r.task.not_before !== null) this.wakeAt(r.task.not_before);
        else this.queueChanged();
      }
      this.deps.observer.finished(run.executor.name, r.task.status, (now - run.startedAt) / 1000);
    }
    this.deps.writer.published(events);
    let offset = requests.length;
    for (const c of claims) {
      this.launchClaimed(c, all.slice(offset, offset + c.requests.length));
      offset += c.requests.length;
    }
    this.wake();
  }

  /** Stop starting tasks; stop running ones and requeue them without using up an attempt. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const pending = [...this.running.values()];
    for (const run of pending) if (!run.cancelRequested) run.shutdown = true;
    if (pending.length === 0) return;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (this.running.size === 0 && this.settleState === 'idle') {
          clearInterval(check);
          resolve();
        }
      }, 10);
      for (const run of pending) run.executor.cancel(run.task.id, this.deps.config.executors.local.kill_grace_ms);
    });
  }
}
