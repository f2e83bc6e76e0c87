/**
 * Executor ownership: which scheduler process dispatches to an executor, and under which
 * epoch (the fencing token every write for that executor's tasks carries; see Fence in
 * store/task-store.ts). One loop per engine, every `renewMs`:
 *   owned     → renew; refused → deposed: `lost` (stop dispatching there; the late writes of
 *               what still runs carry the old epoch and the store refuses them);
 *               unanswered (store outage) for longer than the ttl → treated as lost too, since
 *               another process may have taken it meanwhile;
 *   not owned → claim; won → `gained` (recover that executor's tasks, then dispatch). The
 *               recovery runs beside the loop: a re-attach that takes longer than the ttl
 *               (a Ray cluster's) must not stop the renewals of this or other executors.
 * A standby therefore takes over at most ttl + renewMs after the owner's last renewal.
 *
 * `steal` on the first round: the embedded single process (the store is this process's alone)
 * takes its executors at once after a restart instead of waiting out its dead predecessor's ttl.
 *
 * Every `pruneEveryMs`, a scheduler also deletes the owners rows of other nodes' executors
 * (`local@<node>`) lapsed for `pruneAfterMs` that no active task names (TaskStore.pruneExecutors;
 * docs/operations.md "Dead nodes"): a node gone for good leaves nothing behind. Its tasks were
 * recovered within a ttl (node-recovery.ts); the grace only keeps rows of nodes that restart.
 */
import type { Fence, TaskStore } from '../store/task-store.ts';
import { sharedQueueOf } from './node-queues.ts';

/** A dead node's executor is forgotten once its ownership has lapsed this long. */
export const PRUNE_AFTER_MS = 60 * 60_000;
/** How often a scheduler looks for such executors. */
const PRUNE_EVERY_MS = 60_000;

export interface OwnershipDeps {
  store: TaskStore;
  executors: readonly string[];
  owner: string;
  ttlMs: number;
  renewMs: number;
  steal: boolean;
  /** Won an executor: resolves once its tasks are recovered (the loop waits for it). */
  gained: (executor: string, fence: Fence) => Promise<void>;
  /** Lost one: stop dispatching to it. */
  lost: (executor: string) => void;
  /** Every round, after renewals and claims, for the executors owned (cancel scans). */
  round?: (owned: readonly string[]) => Promise<void>;
  /** Defaults: PRUNE_AFTER_MS, PRUNE_EVERY_MS. */
  pruneAfterMs?: number;
  pruneEveryMs?: number;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

interface Held {
  fence: Fence;
  /** When the store last confirmed the ownership (claim or renew). */
  confirmedAt: number;
}

export class Ownership {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private claiming = true;
  /** Recoveries of executors just won, by executor. */
  private readonly recovering = new Map<string, Promise<void>>();
  private readonly now: () => number;
  private lastPrune = -Infinity;

  constructor(private readonly deps: OwnershipDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The fence for writes to `executor`'s tasks; undefined when this process does not own it. */
  fenceOf(executor: string): Fence | undefined {
    return this.held.get(executor)?.fence;
  }

  get owned(): string[] {
    return [...this.held.keys()];
  }

  /** The first round, then one every renewMs; resolves once the first round's recoveries are done. */
  async start(): Promise<void> {
    await this.tick(this.deps.steal);
    if (this.stopped) return;
    this.timer = setInterval(() => {
      if (this.running === null) this.running = this.tick(false).finally(() => (this.running = null));
    }, this.deps.renewMs);
    this.timer.unref();
    await Promise.all(this.recovering.values());
  }

  /** Claim nothing more (a stop has begun); what is owned is still renewed. */
  stopClaiming(): void {
    this.claiming = false;
  }

  /** Stop the loop and give every ownership up, so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await Promise.all(this.recovering.values());
    const now = this.now();
    for (const [executor, { fence }] of this.held) {
      this.held.delete(executor);
      this.deps.lost(executor);
      await this.deps.store.releaseExecutor(fence, this.deps.owner, now).catch((err) => this.deps.onError?.(err, `release executor ${executor}`));
    }
  }

  private async tick(steal: boolean): Promise<void> {
    const { store, owner, ttlMs } = this.deps;
    for (const executor of this.deps.executors) {
      if (this.stopped) return;
      const now = this.now();
      const held = this.held.get(executor);
      try {
        if (held !== undefined) {
          if (await store.renewExecutor(held.fence, owner, now, ttlMs)) held.confirmedAt = now;
          else this.drop(executor, 'deposed');
          continue;
        }
        // Lost while its recovery still runs: claimed again once that is over.
        if (!this.claiming || this.recovering.has(executor)) continue;
        const won = await store.claimExecutor(executor, owner, now, ttlMs, steal);
        if (won === null) continue;
        const fence = { executor, epoch: won.epoch };
        this.held.set(executor, { fence, confirmedAt: now });
        this.recover(executor, fence);
      } catch (err) {
        this.deps.onError?.(err, `ownership of executor ${executor}`);
        if (held !== undefined && this.now() - held.confirmedAt >= ttlMs) this.drop(executor, 'unconfirmed');
      }
    }
    if (this.deps.round && this.held.size > 0 && !this.stopped) {
      await this.deps.round(this.owned).catch((err) => this.deps.onError?.(err, 'ownership round'));
    }
    if (this.deps.executors.length > 0 && !this.stopped && this.now() - this.lastPrune >= (this.deps.pruneEveryMs ?? PRUNE_EVERY_MS)) {
      this.lastPrune = this.now();
      await this.pruneDeadNodes().catch((err) => this.deps.onError?.(err, 'prune dead node executors'));
    }
  }

  /** Deletes the owners rows of other nodes' executors long lapsed and unused; returns those deleted. */
  async pruneDeadNodes(): Promise<string[]> {
    const before = this.now() - (this.deps.pruneAfterMs ?? PRUNE_AFTER_MS);
    const own = new Set(this.deps.executors);
    const dead = (await this.deps.store.executorOwners())
      .filter((o) => o.expires_at <= before && !own.has(o.executor) && sharedQueueOf(o.executor) !== undefined)
      .map((o) => o.executor);
    return this.deps.store.pruneExecutors(dead, before);
  }

  private recover(executor: string, fence: Fence): void {
    const recovery = this.deps
      .gained(executor, fence)
      .catch(async (err) => {
        this.deps.onError?.(err, `recover executor ${executor}`);
        // Not recovered: give it up, so that this or another process claims and recovers it again.
        if (this.held.get(executor)?.fence !== fence) return;
        this.held.delete(executor);
        this.deps.lost(executor);
        await this.deps.store.releaseExecutor(fence, this.deps.owner, this.now()).catch((e) => this.deps.onError?.(e, `release executor ${executor}`));
      })
      .finally(() => this.recovering.delete(executor));
    this.recovering.set(executor, recovery);
  }

  private drop(executor: string, why: 'deposed' | 'unconfirmed'): void {
    if (!this.held.delete(executor)) return;
    this.deps.onError?.(new Error(`executor ${executor}: ownership ${why === 'deposed' ? 'taken over by another process' : 'not confirmed within its ttl'}`), 'ownership');
    this.deps.lost(executor);
  }
}
