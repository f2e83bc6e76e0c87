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
 *
 * The parts, one concern each: candidates.ts (the view of the queue head), claims.ts (policy
 * → ledger holds → CASes), launch.ts (executor.run and its callbacks), placements.ts (where
 * processes run, for crash recovery), running-tasks.ts (timeouts, cancels, shutdown),
 * settler.ts (exits → batched settle transactions), tenant-gate.ts (weighted fair share and
 * tenant quotas). This file wires them and runs the rounds.
 */
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { Config } from '../config/schema.ts';
import type { Task } from '../domain/task.ts';
import type { Executor, RunCallbacks } from '../executors/executor.ts';
import type { Fence, TaskStore, TransitionResult } from '../store/task-store.ts';
import { CandidateView, readCandidates } from './candidates.ts';
import { admit, prepareClaim, release, unhold, type Claim } from './claims.ts';
import type { EventWriter } from './event-writer.ts';
import { follow, launch, type LaunchDeps } from './launch.ts';
import { Ledger } from './ledger.ts';
import type { EngineObserver } from './observer.ts';
import { PlacementRecorder } from './placements.ts';
import { RunningTasks, type Running } from './running-tasks.ts';
import { Settler } from './settler.ts';
import { TenantGate } from './tenant-gate.ts';
import type { TenantDirectory } from '../tenants/directory.ts';
import type { GpuMeter } from '../tenants/gpu-meter.ts';

/** Candidates read per round, in dispatch order (see readCandidates()); a full window triggers another round at once. */
const WINDOW = 512;
/** After a claim lost some of its tasks to another node (or to a cancel): the queue is read again this much later. */
const LOST_CLAIM_RETRY_MS = 25;
/** How long a view of the queue head is trusted without a re-read (other servers). */
const VIEW_TTL_MS = 1000;

export interface DispatcherDeps {
  store: TaskStore;
  executors: ReadonlyMap<string, Executor>;
  writer: EventWriter;
  observer: EngineObserver;
  config: Readonly<Config>;
  instanceId: string;
  /** The fence of an executor this instance owns (ownership.ts); undefined: not dispatched to. */
  fenceOf: (executor: string) => Fence | undefined;
  /** Where reported files go (artifact-ingest.ts); without it, artifact events pass as they are. */
  artifacts?: ArtifactStore;
  /** Tenants' weights and quotas, and the meter that charges their GPU-seconds. */
  tenants: { directory: TenantDirectory; meter: GpuMeter };
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class Dispatcher {
  readonly ledgers = new Map<string, Ledger>();
  private readonly views = new Map<string, CandidateView>();
  private readonly running: RunningTasks;
  private readonly settler: Settler;
  private readonly launchDeps: LaunchDeps;
  private readonly gate: TenantGate;
  private roundState: 'idle' | 'scheduled' | 'running' | 'rerun' = 'idle';
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAt = Infinity;
  private stopped = false;
  /** Executors not dispatched to: their re-attach after a restart has not succeeded yet. */
  private readonly paused = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    this.gate = new TenantGate({ ...deps.tenants, store: deps.store.tenants, owner: deps.instanceId, ledgers: this.ledgers, now: this.now });
    for (const [name, ex] of deps.executors) {
      this.ledgers.set(name, new Ledger(ex.capacity, ex.gpuInventory, this.gate.listener(name)));
      this.views.set(name, new CandidateView(WINDOW, VIEW_TTL_MS));
      // Room for tasks it had to refuse (claims.ts): they are still in the view.
      ex.onRoom?.(() => this.wake());
      ex.onCapacity?.(() => {
        this.ledgers.get(name)?.resize(ex.capacity, ex.gpuInventory);
        this.wake();
      });
    }
    this.running = new RunningTasks();
    this.settler = new Settler({
      store: deps.store,
      writer: deps.writer,
      observer: deps.observer,
      running: this.running,
      ledgers: this.ledgers,
      instanceId: deps.instanceId,
      now: this.now,
      claimsAfter: (now) => this.claimsAfterSettle(now),
      claimed: (claim, results) => this.launchClaimed(claim, results),
      requeued: (task) => this.requeued(task),
      wake: () => this.wake(),
      onError: deps.onError,
    });
    this.launchDeps = {
      writer: deps.writer,
      placements: new PlacementRecorder(deps.store, deps.instanceId, deps.onError),
      artifacts: deps.artifacts,
      now: this.now,
      complete: (id, outcome) => this.settler.complete(id, outcome),
      onError: deps.onError,
    };
  }

  get runningIds(): string[] {
    return this.running.ids();
  }

  /** The tasks running here, grouped by the executor ownership (fence) they run under. */
  runningByFence(): Map<Fence, string[]> {
    return this.running.byFence();
  }

  isRunningHere(id: string): boolean {
    return this.running.has(id);
  }

  /** The run of a task this instance runs now (seed-progress.ts ends it through its exit). */
  runOf(id: string): Running | undefined {
    return this.running.get(id);
  }

  /** Resolves once the task's completion is settled and stored (Settler.whenSettled). */
  whenSettled(id: string): Promise<void> {
    return this.settler.whenSettled(id);
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

  /** Stop (or resume) starting tasks on an executor, while its re-attach is pending (reconciler.ts). */
  pause(executor: string, paused: boolean): void {
    if (paused) this.paused.add(executor);
    else if (this.paused.delete(executor)) this.queueChanged();
  }

  /**
   * A task a previous instance left running, followed again (Reconciler → Executor.reattach),
   * its lease already taken over: it holds its stored devices in the ledger and is known here
   * from now on; a task that was `cancelling` stays so. Returns the callbacks it reports through.
   */
  adopt(task: Task, executor: Executor, fence: Fence): RunCallbacks {
    this.ledgers.get(executor.name)?.adopt(task.id, task.tenant, task.resources, task.assignment?.gpus ?? []);
    const run = this.running.add(task, executor, fence, this.now());
    run.cancelRequested = task.status === 'cancelling';
    return follow(run, this.launchDeps);
  }

  /** The executor follows an adopted task again: its timeout runs on, and a cancel it was in applies. */
  followed(id: string): void {
    const run = this.running.get(id);
    if (run === undefined) return; // ended already
    this.running.launched(run, Math.max(0, this.now() - (run.task.started_at ?? this.now())));
    if (run.cancelRequested) run.executor.cancel(id);
  }

  /** Forget an adopted task after all (its executor could not follow it): it holds nothing here. */
  disown(id: string): void {
    const run = this.running.take(id);
    if (run) this.ledgers.get(run.task.executor)?.release(id);
  }

  /**
   * This instance lost the executor's ownership: nothing more is started there, and its runs
   * are forgotten (not stopped: the new owner follows them; writes for them would be refused).
   */
  deposed(executor: string): void {
    this.pause(executor, true);
    // Launched runs only (a claim launches in the turn its CAS returns): no reservation is left to give back.
    for (const run of this.running.forget(executor)) this.ledgers.get(executor)?.release(run.task.id);
    this.views.get(executor)?.invalidate();
  }

  /** Whether a task that runs here has been asked to stop by a user cancel. */
  cancelRequested(id: string): boolean {
    return this.running.get(id)?.cancelRequested === true;
  }

  /** A user cancel of a task that runs here: the CAS to cancelling already happened. */
  cancelRunning(id: string): boolean {
    return this.running.cancel(id);
  }

  /** Stop starting tasks; stop running ones and requeue them without using up an attempt. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.running.size === 0) return;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (this.running.size === 0 && this.settler.idle) {
          clearInterval(check);
          resolve();
        }
      }, 10);
      this.running.stopAll();
    });
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

  private async round(): Promise<void> {
    await this.gate.refresh();
    for (const [name, executor] of this.deps.executors) {
      if (!this.dispatchable(name, executor)) continue;
      const ledger = this.ledgers.get(name) as Ledger;
      const view = this.views.get(name) as CandidateView;
      for (;;) {
        if (this.stopped) return;
        const now = this.now();
        if (view.needsFetch(now)) view.fill(await readCandidates(this.deps.store, name, now, WINDOW), now);
        // Read again after every await: the ownership may have been lost meanwhile, and a claim
        // without its fence would be written whoever owns the executor now.
        const fence = this.deps.fenceOf(name);
        if (fence === undefined || view.candidates.length === 0) break;
        const admitted = this.admit(name, view, ledger);
        if (admitted.length === 0) break;
        await this.claimAndLaunch(this.claim(view, executor, ledger, admitted, now, fence));
        // Everything in view was admitted: there may be more behind it.
        if (view.candidates.length > 0) break;
      }
    }
  }

  /** The claim of what the policy admitted; what the executor had no room for goes back into the view. */
  private claim(view: CandidateView, executor: Executor, ledger: Ledger, tasks: Task[], now: number, fence: Fence): Claim {
    const claim = prepareClaim(executor, ledger, tasks, now, this.deps.instanceId, this.deps.config.tasks.lease_ms, fence);
    if (claim.refused.length > 0) view.restore(claim.refused);
    this.gate.withRunningQuotas(claim.held, claim.requests);
    return claim;
  }

  private async claimAndLaunch(claim: Claim): Promise<void> {
    if (claim.requests.length === 0) return;
    let results: (TransitionResult | null)[];
    try {
      results = await this.deps.store.transition(claim.requests);
    } catch (err) {
      unhold(claim);
      throw err;
    }
    this.launchClaimed(claim, results);
  }

  /** After the CASes of a claim: launch the tasks that were claimed, release the others. */
  private launchClaimed(claim: Claim, results: readonly (TransitionResult | null)[]): void {
    const { executor, held, now } = claim;
    const events = [];
    const runs = [];
    let lost = 0;
    for (let i = 0; i < held.length; i++) {
      const t = held[i] as Task;
      const r = results[i];
      if (!r) {
        release(claim, t.id); // cancelled or claimed meanwhile, or over its tenant's max_running
        if (claim.requests[i]!.running_quota !== undefined) this.gate.stale();
        lost += 1;
        continue;
      }
      events.push(r.event);
      runs.push(this.running.add(r.task, executor, claim.fence, now));
      this.deps.observer.dispatched(executor.name, Math.max(0, now - (t.not_before ?? t.created_at)) / 1000);
    }
    this.deps.writer.published(events);
    for (const run of runs) {
      launch(run, this.launchDeps);
      this.running.launched(run);
    }
    // The view was wrong: another node took those tasks from a shared queue (or they were
    // cancelled), and the room they would have used is still free. Nothing else would wake this
    // node for the tasks behind them (the other node's completions wake only that node), so read
    // the queue again shortly; not at once, since a deposed owner loses every claim until its
    // ownership loop notices.
    if (lost > 0) this.wakeAt(this.now() + LOST_CLAIM_RETRY_MS);
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
      const fence = this.deps.fenceOf(name);
      if (view.needsFetch(now) || view.candidates.length === 0 || fence === undefined || !this.dispatchable(name, executor)) continue;
      const ledger = this.ledgers.get(name) as Ledger;
      const admitted = this.admit(name, view, ledger);
      if (admitted.length > 0) claims.push(this.claim(view, executor, ledger, admitted, now, fence));
    }
    return claims;
  }

  /** What the policy admits from the view, under the tenants' fair share and quotas; a quota holding tasks back wakes a later round. */
  private admit(executor: string, view: CandidateView, ledger: Ledger): Task[] {
    const { tenants, recheckAt } = this.gate.terms(executor, view.candidates, ledger);
    if (recheckAt !== null) this.wakeAt(recheckAt);
    return admit(view, ledger, tenants);
  }

  /** Its tasks stay queued unless this instance owns it, while its re-attach is pending, or while it says it is down. */
  private dispatchable(name: string, executor: Executor): boolean {
    return !this.paused.has(name) && this.deps.fenceOf(name) !== undefined && executor.health?.().ok !== false;
  }

  private requeued(task: Task): void {
    if (task.not_before !== null) this.wakeAt(task.not_before);
    else this.queueChanged();
  }
}
