/**
 * One deployment's gateway: the request queue, the dynamic batcher (batcher.ts), the replicas
 * and their router (gateway/slots.ts, router.ts), the batches in flight (gateway/flights.ts) and
 * the stats (stats.ts) over a set of `Replica`s. No HTTP, processes or engine.
 *
 * Promises it keeps:
 * - Every request settles by its deadline: answered, or INFERENCE_TIMEOUT (a batch stuck on a
 *   stalled replica is abandoned then, its signal aborted).
 * - One bad request fails alone: a batch the model refuses ('rejected') or fails on ('internal')
 *   is bisected and re-run until the culprit runs by itself (INVALID_TENSOR / INFERENCE_FAILED).
 * - A batch whose replica is lost or removed runs once more on another ready replica, else
 *   REPLICA_UNAVAILABLE.
 * - With no ready replica, requests wait (onDemand fires) and are never refused for that alone.
 * - Settings changed by `reconfigure` apply to the next batch.
 */
import { LakerayError } from '../domain/errors.ts';
import { admit, nextBatch, ServiceTimeEstimator, type BatchSlice, type QueuedRequest } from './batcher.ts';
import { commonRows } from './gateway/tensor-rows.ts';
import { Flights, type Entry, type Flight, type Slot } from './gateway/flights.ts';
import { ReplicaSlots } from './gateway/slots.ts';
import { ChainWaves } from './gateway/waves.ts';
import type { RoutePick } from './router.ts';
import { ServingStats, type DeploymentStats } from './stats.ts';
import type { BatchSettings, Replica, TensorMap } from './types.ts';

export type { DeploymentStats } from './stats.ts';

export interface GatewayRequest {
  /** Every input has shape[0] === rows. */
  inputs: TensorMap;
  rows: number;
  /** Requests with the same chain key run one at a time, in submit order (a session's chunks). */
  chain?: string;
  /** Absolute deadline (ms, the gateway's clock); default now + request_timeout_ms. */
  deadline?: number;
  /**
   * Run it on a replica holding this GPU id (a session routed to a GPU). A preference, not a
   * wait: while no ready replica holds that GPU, any replica runs it.
   */
  gpu?: string;
}

export interface GatewayTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` once this event-loop turn's I/O is handled (close_batch_when_idle); default setImmediate. */
  setImmediate?(fn: () => void): void;
}

export interface GatewayOptions {
  settings: BatchSettings;
  /** The gateway's clock (ms); deadlines are on it. Default Date.now. */
  clock?: () => number;
  timers?: GatewayTimers;
  /** Batches one replica runs at once (a replica process runs one session.run at a time). */
  maxConcurrentBatches?: number;
}

const NODE_TIMERS: GatewayTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
};

export class Gateway {
  private settings: BatchSettings;
  private readonly clock: () => number;
  private readonly timers: GatewayTimers;
  private readonly maxConcurrent: number;
  private readonly stat: ServingStats;
  private readonly serviceMs = new ServiceTimeEstimator();
  /** Requests with rows not yet sent, in submit order (settled ones linger until `waiting()` compacts). */
  private queue: Entry[] = [];
  private queueDirty = false;
  /** Requests and rows waiting in `queue`, kept as counts so admission is O(1). */
  private queuedCount = 0;
  private queuedRows = 0;
  /** Chains with a request sent in full and not yet answered: their next request waits. */
  private readonly busyChains = new Map<string, number>();
  /** Chains answered within batch_timeout_ms, for the wave rule (gateway/waves.ts). */
  private readonly waves = new ChainWaves();
  /** Every request not yet settled (queued or in flight). */
  private readonly outstanding = new Set<Entry>();
  private readonly slots: ReplicaSlots;
  private readonly flights: Flights;
  private readonly demandListeners: (() => void)[] = [];
  private nextId = 1;
  private batchTimer: unknown = null;
  /** When the armed batch timer fires (the gateway's clock). */
  private batchTimerAt = Infinity;
  private pumpScheduled = false;
  private turnEndScheduled = false;
  private idleSince: number;
  private closedWith: LakerayError | null = null;

  constructor(opts: GatewayOptions) {
    this.settings = { ...opts.settings };
    this.clock = opts.clock ?? Date.now;
    this.timers = opts.timers ?? NODE_TIMERS;
    this.maxConcurrent = Math.max(1, opts.maxConcurrentBatches ?? 1);
    this.stat = new ServingStats(this.clock);
    this.idleSince = this.clock();
    this.flights = new Flights({
      clock: this.clock,
      stats: this.stat,
      serviceMs: this.serviceMs,
      answer: (e, out) => this.settle(e, null, out),
      fail: (e, err) => this.settle(e, err, null),
      released: (slot) => this.slots.released(slot),
      changed: () => this.schedulePump(),
    });
    this.slots = new ReplicaSlots({
      maxConcurrent: this.maxConcurrent,
      lost: (f, why) => this.flights.lost(f, why),
      changed: () => this.schedulePump(),
    });
  }

  submit(req: GatewayRequest): Promise<TensorMap> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    const now = this.clock();
    if (!Number.isInteger(req.rows) || req.rows < 1 || commonRows(req.inputs) !== req.rows) {
      return this.refuse(new LakerayError('INVALID_TENSOR', `every input must have ${req.rows} rows (its first dimension), and rows must be a positive integer`));
    }
    const deadline = req.deadline ?? now + this.settings.request_timeout_ms;
    const ready = this.slots.ready();
    const verdict = admit({
      rows: req.rows,
      deadline,
      now,
      queueRows: this.queueRows(),
      queueDepth: this.queuedCount,
      slots: ready.length * this.maxConcurrent,
      inFlightBatches: ready.reduce((n, s) => n + s.batchesInFlight, 0),
      settings: this.settings,
      serviceMs: this.serviceMs,
    });
    if (!verdict.ok) return this.refuse(new LakerayError(verdict.code, undefined, undefined, verdict.retryAfterMs));
    return new Promise<TensorMap>((resolve, reject) => {
      const entry: Entry = {
        id: this.nextId++, inputs: req.inputs, rows: req.rows, chain: req.chain, gpu: req.gpu, enqueuedAt: now, deadline,
        sent: 0, parts: new Map(), answeredRows: 0, settled: false, flights: new Set(), resolve, reject, timer: null,
      };
      entry.timer = this.timers.setTimeout(() => this.settle(entry, new LakerayError('INFERENCE_TIMEOUT'), null), Math.max(0, deadline - now));
      this.queue.push(entry);
      this.queuedCount += 1;
      this.queuedRows += entry.rows;
      this.outstanding.add(entry);
      if (ready.length === 0) for (const l of this.demandListeners) l();
      this.schedulePump();
    });
  }

  addReplica(r: Replica): void {
    this.slots.add(r);
  }

  drainReplica(id: string): Promise<void> {
    return this.slots.drain(id);
  }

  removeReplica(id: string): void {
    this.slots.remove(id);
  }

  reconfigure(partial: Partial<BatchSettings>): void {
    this.settings = { ...this.settings, ...partial };
    this.schedulePump();
  }

  chainStatus(chain: string): { position: number | null; pending: number } {
    const at = this.waiting().findIndex((e) => e.chain === chain);
    let pending = 0;
    for (const e of this.outstanding) if (e.chain === chain) pending += 1;
    return { position: at < 0 ? null : at, pending };
  }

  /** A chain that ended (a session deleted or reaped): its next request will not come, so no wave waits for it. */
  endChain(chain: string): void {
    if (this.waves.end(chain)) this.schedulePump();
  }

  /** What sizing needs, without the stats' latency percentiles (a sort of the window) that `stats()` computes. */
  load(): { queue_rows: number; in_flight_rows: number } {
    return { queue_rows: this.queueRows(), in_flight_rows: this.slots.rowsInFlight() };
  }

  stats(): DeploymentStats {
    return {
      queue_depth: this.queuedCount,
      queue_rows: this.queueRows(),
      in_flight_rows: this.slots.rowsInFlight(),
      ...this.stat.snapshot(),
      replicas: this.slots.stats(),
      settings: { ...this.settings },
    };
  }

  recordColdStart(ms: number): void {
    this.stat.recordColdStart(ms);
  }

  idleForMs(): number | null {
    return this.outstanding.size > 0 ? null : this.clock() - this.idleSince;
  }

  onDemand(listener: () => void): void {
    this.demandListeners.push(listener);
  }

  close(reason: LakerayError): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    this.disarmBatchTimer();
    for (const e of [...this.outstanding]) this.settle(e, reason, null);
  }

  private refuse(err: LakerayError): Promise<never> {
    this.stat.recordRefusal(err.code);
    return Promise.reject(err);
  }

  /** The queue without settled requests: compacted lazily, so a burst of timeouts costs O(n), not O(n²). */
  private waiting(): Entry[] {
    if (this.queueDirty) {
      this.queue = this.queue.filter((e) => !e.settled);
      this.queueDirty = false;
    }
    return this.queue;
  }

  private queueRows(): number {
    return this.queuedRows;
  }

  private settle(e: Entry, err: LakerayError | null, out: TensorMap | null): void {
    if (e.settled) return;
    e.settled = true;
    this.timers.clearTimeout(e.timer);
    this.outstanding.delete(e);
    if (e.chain !== undefined) {
      if (e.sent >= e.rows) this.countBusy(e.chain, -1);
      this.waves.answered(e.chain, this.clock(), this.settings.batch_timeout_ms);
    }
    if (e.sent < e.rows) {
      this.queueDirty = true;
      this.queuedCount -= 1;
      this.queuedRows -= e.rows - e.sent;
    }
    for (const f of e.flights) this.flights.abandonIfSettled(f);
    if (err === null && out !== null) {
      this.stat.recordAnswer(e.rows, this.clock() - e.enqueuedAt);
      e.resolve(out);
    } else {
      const error = err ?? new LakerayError('INFERENCE_FAILED');
      this.stat.recordRefusal(error.code);
      e.reject(error);
    }
    if (this.outstanding.size === 0) this.idleSince = this.clock();
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closedWith !== null) return;
    this.pumpScheduled = true;
    // A microtask later, so that every answer of one batch is in before the next batch forms.
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Send every batch that can go now; arm the batch timer for the rest. `turnOver`: this turn's
   * arrivals are queued (a pump from setImmediate), so an idle replica may close a batch early
   * under close_batch_when_idle.
   */
  private pump(turnOver = false): void {
    if (this.closedWith !== null) return;
    this.flights.sendRetries(
      (exclude) => this.slots.take(this.choose(exclude)),
      (exclude) => this.slots.ready().some((s) => !exclude.has(s.replica.id)),
    );
    for (;;) {
      const sent = this.sendOne(turnOver);
      if (sent === 'sent') continue;
      if (sent === 'none') this.disarmBatchTimer();
      else {
        this.armBatchTimer(sent);
        if (this.settings.close_batch_when_idle === true && !turnOver) this.pumpAtTurnEnd();
      }
      return;
    }
  }

  /**
   * The timer for the next batch to close. An armed timer due no later is kept: each arrival
   * pumps, and re-arming per arrival would churn a timer per request for the same batch.
   */
  private armBatchTimer(ms: number): void {
    const at = this.clock() + ms;
    if (this.batchTimer !== null && this.batchTimerAt <= at) return;
    this.disarmBatchTimer();
    this.batchTimerAt = at;
    this.batchTimer = this.timers.setTimeout(() => {
      this.batchTimer = null;
      this.batchTimerAt = Infinity;
      this.pump();
    }, ms);
  }

  private disarmBatchTimer(): void {
    if (this.batchTimer !== null) this.timers.clearTimeout(this.batchTimer);
    this.batchTimer = null;
    this.batchTimerAt = Infinity;
  }

  private pumpAtTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    (this.timers.setImmediate ?? setImmediate)(() => {
      this.turnEndScheduled = false;
      this.pump(true);
    });
  }

  /**
   * One batch to the best replica (by the strategy) that has requests it may run: a replica
   * that holds no GPU some request is pinned to skips that request, and the next replica is
   * tried. 'sent', or the ms to wait before a batch closes, or 'none'.
   */
  private sendOne(turnOver: boolean): 'sent' | 'none' | number {
    const tried = new Set<string>();
    const held = this.slots.heldGpus();
    let wait: number | null = null;
    for (let choice = this.choose(); choice !== null; choice = this.choose(tried)) {
      tried.add(choice.id);
      const slot = this.slots.get(choice.id);
      const gpus = slot?.replica.gpus ?? [];
      const accept = held.size === 0 ? undefined : (r: QueuedRequest) => r.gpu === undefined || !held.has(r.gpu) || gpus.includes(r.gpu);
      const idle = turnOver && slot !== undefined && slot.batchesInFlight === 0;
      const queue = this.waiting() as readonly QueuedRequest[];
      const first = nextBatch(queue, this.busyChains, this.settings, this.clock(), accept, idle);
      // A wave of session chunks that is all in does not wait out the timeout (gateway/waves.ts).
      const decision = first.kind === 'wait' && this.waves.isIn(this.waiting(), this.busyChains, this.clock(), this.settings.batch_timeout_ms) ? nextBatch(queue, this.busyChains, { ...this.settings, batch_timeout_ms: 0 }, this.clock(), accept) : first;
      if (decision.kind === 'idle') continue;
      if (decision.kind === 'wait') {
        wait = Math.min(wait ?? Infinity, decision.ms);
        continue;
      }
      this.launch(decision.slices, choice);
      return 'sent';
    }
    return wait ?? 'none';
  }

  private launch(slices: readonly BatchSlice[], choice: RoutePick): void {
    const byId = new Map(this.waiting().map((e) => [e.id, e]));
    const flight: Flight = this.flights.create(
      slices.map((s) => {
        const entry = byId.get(s.id) as Entry;
        entry.sent = s.start + s.count;
        this.queuedRows -= s.count;
        if (entry.sent >= entry.rows) {
          this.queuedCount -= 1;
          if (entry.chain !== undefined) this.countBusy(entry.chain, 1);
        }
        return { entry, start: s.start, count: s.count };
      }),
    );
    this.queue = this.queue.filter((e) => e.sent < e.rows && !e.settled);
    this.flights.launch(flight, this.slots.take(choice) as Slot);
  }

  private choose(exclude?: ReadonlySet<string>): RoutePick | null {
    return this.slots.choose(this.settings.load_balance_strategy, exclude);
  }

  private countBusy(chain: string, delta: 1 | -1): void {
    const n = (this.busyChains.get(chain) ?? 0) + delta;
    if (n > 0) this.busyChains.set(chain, n);
    else this.busyChains.delete(chain);
  }
}
