/**
 * The dynamic batcher's decisions (pure: the clock is an argument, no timers, no I/O).
 *
 * - `admit`: a request is refused at the door, never late: QUEUE_FULL when its rows would push
 *   the queue past `max_queue`; DEADLINE_UNMEETABLE when the batches ahead of it, shared by
 *   the free replica slots at the measured service time, would answer it after its deadline.
 *   With no ready replica nothing is predicted: a cold start holds requests, never refuses.
 * - `nextBatch`: a batch closes when `max_batch_size` rows are eligible or the oldest eligible
 *   request has waited `batch_timeout_ms` (at once, one request per batch, with dynamic
 *   batching off). Requests go in submit order; a request larger than `max_batch_size` goes
 *   out in slices. Requests of one chain (a session's chunks) are eligible one at a time, in
 *   submit order: the next waits until the previous is answered; chains batch together.
 * - Opt-in refinement (`close_batch_when_idle`, default off): a batch also closes, before its
 *   timeout, when the replica it is for runs nothing and the requests that arrived in the
 *   current event-loop turn are queued (`turnOver`, the gateway's word for it). An idle replica
 *   then never waits on a timer; a busy one still collects a batch (what the in-process limit
 *   and Triton's scheduler with no queue delay do).
 *
 * The caller (the gateway) asks `nextBatch` only when a replica has room, so an eligible
 * request never waits past `batch_timeout_ms` while a replica is free.
 */
import type { BatchSettings } from './types.ts';

export interface QueuedRequest {
  readonly id: number;
  readonly rows: number;
  /** Rows already sent in earlier batches (a request larger than a batch goes out in slices). */
  readonly sent: number;
  readonly enqueuedAt: number;
  readonly deadline: number;
  readonly chain?: string | undefined;
  /** Only a replica holding this GPU may run it (a session routed to a GPU, seed 003's gpu_language_map). */
  readonly gpu?: string | undefined;
}

/** Whether the replica the next batch is for may run a request (its GPU affinity); default: any. */
export type Accept = (r: QueuedRequest) => boolean;

/** Rows `start .. start+count` of request `id`. */
export interface BatchSlice {
  readonly id: number;
  readonly start: number;
  readonly count: number;
}

export type BatchDecision =
  | { readonly kind: 'batch'; readonly slices: BatchSlice[]; readonly rows: number }
  /** Nothing to send yet: ask again in `ms` (or when something changes). */
  | { readonly kind: 'wait'; readonly ms: number }
  /** Nothing eligible. */
  | { readonly kind: 'idle' };

/** Chains whose previous request is not answered yet (anything with `has`: a Set, a Map of counts). */
export type BusyChains = Pick<ReadonlySet<string>, 'has'>;

type BatchShape = Pick<BatchSettings, 'max_batch_size' | 'batch_timeout_ms' | 'enable_dynamic_batching' | 'close_batch_when_idle'>;

/**
 * The requests that may go in the next batch, in queue order: every request without a chain,
 * and the first queued request of each chain that has no earlier request still unanswered
 * (`busyChains`: chains with a request sent in full but not yet answered).
 */
export function eligibleRequests(queue: readonly QueuedRequest[], busyChains: BusyChains, enoughRows = Infinity, accept?: Accept): QueuedRequest[] {
  const seen = new Set<string>();
  const out: QueuedRequest[] = [];
  let rows = 0;
  for (const r of queue) {
    // The queue is in submit order, so the first `enoughRows` eligible rows hold the oldest request.
    if (rows >= enoughRows) break;
    if (r.sent >= r.rows) continue;
    if (accept !== undefined && !accept(r)) continue;
    if (r.chain !== undefined) {
      if (seen.has(r.chain) || busyChains.has(r.chain)) continue;
      seen.add(r.chain);
    }
    out.push(r);
    rows += r.rows - r.sent;
  }
  return out;
}

/**
 * `turnOver`: the replica the batch is for runs nothing and this event-loop turn's arrivals are
 * queued; it closes the batch at once only with `close_batch_when_idle`.
 */
export function nextBatch(queue: readonly QueuedRequest[], busyChains: BusyChains, settings: BatchShape, now: number, accept?: Accept, turnOver = false): BatchDecision {
  const max = settings.max_batch_size;
  // Without dynamic batching only the oldest eligible request is taken: the scan stops there.
  const eligible = eligibleRequests(queue, busyChains, settings.enable_dynamic_batching ? max : 1, accept);
  const [head] = eligible;
  if (head === undefined) return { kind: 'idle' };
  if (!settings.enable_dynamic_batching) return fill([head], max);
  const rows = eligible.reduce((n, r) => n + r.rows - r.sent, 0);
  const closeAt = eligible.reduce((t, r) => Math.min(t, r.enqueuedAt), Infinity) + settings.batch_timeout_ms;
  if (rows >= max || now >= closeAt || (turnOver && settings.close_batch_when_idle === true)) return fill(eligible, max);
  return { kind: 'wait', ms: closeAt - now };
}

/** Take eligible requests in order up to `max` rows; only a request larger than a batch is cut. */
function fill(eligible: readonly QueuedRequest[], max: number): BatchDecision {
  const slices: BatchSlice[] = [];
  let room = max;
  for (const r of eligible) {
    const left = r.rows - r.sent;
    if (left <= room) {
      slices.push({ id: r.id, start: r.sent, count: left });
      room -= left;
      if (room === 0) break;
      continue;
    }
    // Strict submit order: a request that does not fit ends the batch, unless it is one that
    // never fits whole (then it fills the room left).
    if (r.rows > max) {
      slices.push({ id: r.id, start: r.sent, count: room });
      room = 0;
    }
    break;
  }
  return { kind: 'batch', slices, rows: max - room };
}

export interface AdmissionInput {
  readonly rows: number;
  readonly deadline: number;
  readonly now: number;
  readonly queueRows: number;
  readonly queueDepth: number;
  /** Batches that ready replicas can run at once (ready replicas × batches per replica). */
  readonly slots: number;
  readonly inFlightBatches: number;
  readonly settings: BatchSettings;
  readonly serviceMs: ServiceTimeEstimate;
}

export type Admission =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'QUEUE_FULL' | 'DEADLINE_UNMEETABLE'; readonly retryAfterMs: number };

export function admit(a: AdmissionInput): Admission {
  const { settings: s } = a;
  const slots = Math.max(1, a.slots);
  const excess = a.queueRows + a.rows - s.max_queue;
  if (excess > 0) {
    const perBatch = a.serviceMs.estimate(s.max_batch_size) ?? Math.max(s.batch_timeout_ms, 1);
    return { ok: false, code: 'QUEUE_FULL', retryAfterMs: Math.max(1, Math.ceil((Math.ceil(excess / s.max_batch_size) / slots) * perBatch)) };
  }
  if (a.slots <= 0) return { ok: true };
  const aheadRows = a.queueRows + a.rows;
  // Batching on: full batches of the rows ahead. Off: every request ahead is its own batch, of
  // a request's rows (their mean), not of a full batch's: pricing each at `max_batch_size` rows
  // refused requests at a backlog of ~100 single rows that one replica clears in ~0.1 s.
  const rowsPerBatch = s.enable_dynamic_batching ? aheadRows : Math.ceil(aheadRows / (a.queueDepth + 1));
  const perBatch = a.serviceMs.estimate(Math.min(s.max_batch_size, rowsPerBatch));
  if (perBatch === null) return { ok: true };
  const batchesAhead = s.enable_dynamic_batching ? Math.ceil(aheadRows / s.max_batch_size) : a.queueDepth + Math.ceil(a.rows / s.max_batch_size);
  const rounds = Math.ceil((batchesAhead + a.inFlightBatches) / slots);
  const batchWait = s.enable_dynamic_batching && aheadRows < s.max_batch_size ? s.batch_timeout_ms : 0;
  const predicted = a.now + batchWait + rounds * perBatch;
  if (predicted <= a.deadline) return { ok: true };
  return { ok: false, code: 'DEADLINE_UNMEETABLE', retryAfterMs: Math.max(1, Math.ceil(predicted - a.deadline)) };
}

export interface ServiceTimeEstimate {
  /** Expected ms to run one batch of `rows` rows, or null before any batch was measured. */
  estimate(rows: number): number | null;
}

const bucketOf = (rows: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, rows)));

/**
 * A moving (EWMA) estimate of batch service time per power-of-two row bucket. An unmeasured
 * bucket borrows the nearest measured one, scaled up linearly for larger batches (never down:
 * a smaller batch is rarely much cheaper on a batched model).
 */
export class ServiceTimeEstimator implements ServiceTimeEstimate {
  private readonly byBucket = new Map<number, number>();

  constructor(private readonly alpha = 0.2) {}

  observe(rows: number, ms: number): void {
    const b = bucketOf(rows);
    const prev = this.byBucket.get(b);
    this.byBucket.set(b, prev === undefined ? ms : prev + this.alpha * (ms - prev));
  }

  estimate(rows: number): number | null {
    const b = bucketOf(rows);
    const exact = this.byBucket.get(b);
    if (exact !== undefined) return exact;
    let best: [number, number] | null = null;
    for (const [k, v] of this.byBucket) {
      if (best === null || Math.abs(Math.log2(k / b)) < Math.abs(Math.log2(best[0] / b))) best = [k, v];
    }
    if (best === null) return null;
    return best[1] * Math.max(1, b / best[0]);
  }
}
