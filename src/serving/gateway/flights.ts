/**
 * Batches in flight: sending one to a replica, cutting its outputs back per request, and what
 * a failure means.
 * - 'lost' (or the replica removed): run the batch once more on a replica it has not tried,
 *   else REPLICA_UNAVAILABLE for its requests.
 * - 'rejected' / 'internal' with several requests: bisect and re-run both halves first, so only
 *   the culprit fails (INVALID_TENSOR / INFERENCE_FAILED) and the others are answered.
 * A batch whose requests have all settled (timed out) is abandoned: its signal is aborted and
 * its answer, if one ever comes, ignored. Its replica's slot frees when `infer` settles.
 * A batch's AbortController is reused by a later batch once its `infer` settled unaborted
 * (making one, with its signal, cost ~5–25 µs a batch: a request's worth with batching off).
 * Replicas remove their abort listeners when `infer` settles (the frame channel, undici).
 */
import { LakerayError } from '../../domain/errors.ts';
import type { ServiceTimeEstimator } from '../batcher.ts';
import type { ServingStats } from '../stats.ts';
import { ReplicaError, type Replica, type TensorMap } from '../types.ts';
import { commonRows, concatRows, sliceRows } from './tensor-rows.ts';

export interface Entry {
  readonly id: number;
  readonly inputs: TensorMap;
  readonly rows: number;
  readonly chain: string | undefined;
  readonly gpu: string | undefined;
  readonly enqueuedAt: number;
  readonly deadline: number;
  /** Rows handed to batches so far. */
  sent: number;
  /** Answered slices by their first row. */
  readonly parts: Map<number, TensorMap>;
  answeredRows: number;
  settled: boolean;
  readonly flights: Set<Flight>;
  readonly resolve: (out: TensorMap) => void;
  readonly reject: (err: LakerayError) => void;
  timer: unknown;
}

export interface Slot {
  readonly replica: Replica;
  draining: boolean;
  batchesInFlight: number;
  rowsInFlight: number;
  batches: number;
  rows: number;
  readonly inFlight: Set<Flight>;
  readonly drained: (() => void)[];
}

export interface SliceRef {
  readonly entry: Entry;
  readonly start: number;
  readonly count: number;
}

export interface Flight {
  slices: SliceRef[];
  rows: number;
  /** Bumped per launch and when superseded, so a stale answer is ignored. */
  attempt: number;
  abort: AbortController | null;
  readonly tried: Set<string>;
  lostRetries: number;
}

export interface FlightDeps {
  clock: () => number;
  stats: ServingStats;
  serviceMs: ServiceTimeEstimator;
  answer: (e: Entry, out: TensorMap) => void;
  fail: (e: Entry, err: LakerayError) => void;
  released: (slot: Slot) => void;
  changed: () => void;
}

const live = (f: Flight): SliceRef[] => f.slices.filter((s) => !s.entry.settled);

/** Unaborted controllers kept for reuse: enough for the batches in flight at once. */
const SPARE_CONTROLLERS = 16;

export class Flights {
  private retries: Flight[] = [];
  private readonly spare: AbortController[] = [];

  constructor(private readonly deps: FlightDeps) {}

  create(slices: SliceRef[], lostRetries = 0): Flight {
    return { slices, rows: slices.reduce((n, s) => n + s.count, 0), attempt: 0, abort: null, tried: new Set(), lostRetries };
  }

  launch(f: Flight, slot: Slot): void {
    f.slices = live(f);
    f.rows = f.slices.reduce((n, s) => n + s.count, 0);
    if (f.slices.length === 0) return;
    const attempt = ++f.attempt;
    const abort = this.spare.pop() ?? new AbortController();
    f.abort = abort;
    f.tried.add(slot.replica.id);
    for (const s of f.slices) s.entry.flights.add(f);
    slot.inFlight.add(f);
    slot.batchesInFlight += 1;
    slot.rowsInFlight += f.rows;
    const rows = f.rows;
    const release = (): void => {
      slot.batchesInFlight -= 1;
      slot.rowsInFlight -= rows;
      slot.inFlight.delete(f);
      // Over: nothing left to abort (aborting a finished batch costs a DOMException per batch).
      if (f.abort === abort) f.abort = null;
      if (!abort.signal.aborted && this.spare.length < SPARE_CONTROLLERS) this.spare.push(abort);
      this.deps.released(slot);
    };
    const started = this.deps.clock();
    let run: Promise<TensorMap>;
    try {
      const inputs = buildInputs(f.slices);
      run = slot.replica.infer(inputs, abort.signal);
    } catch (err) {
      // Inputs that cannot be stacked (names, dtypes, row shapes disagree) are a request's fault.
      run = Promise.reject(err instanceof ReplicaError ? err : new ReplicaError('rejected', (err as Error).message));
    }
    run.then(
      (out) => {
        release();
        if (f.attempt === attempt) this.answered(f, slot, out, this.deps.clock() - started);
      },
      (err: unknown) => {
        release();
        if (f.attempt === attempt) this.failed(f, err instanceof ReplicaError ? err : new ReplicaError('internal', String((err as Error)?.message ?? err)));
      },
    );
  }

  /** The batch's replica is gone: retry it once elsewhere. */
  lost(f: Flight, why: string): void {
    f.attempt += 1;
    f.abort?.abort();
    const slices = live(f);
    if (slices.length === 0) return;
    if (f.lostRetries >= 1) {
      for (const s of slices) this.deps.fail(s.entry, new LakerayError('REPLICA_UNAVAILABLE', `${why}, and the retry on another replica failed too`, undefined, 1000));
      return;
    }
    f.lostRetries += 1;
    this.retries.push(f);
    this.deps.changed();
  }

  /** Called as each request of the batch settles: a batch's requests settle in slice order, so look from the end. */
  abandonIfSettled(f: Flight): void {
    for (let i = f.slices.length - 1; i >= 0; i--) if (!f.slices[i]!.entry.settled) return;
    f.abort?.abort();
  }

  /**
   * Send the batches waiting to run again, first of all. A lost batch that has no other ready
   * replica left fails REPLICA_UNAVAILABLE; the others wait for room.
   */
  sendRetries(pick: (exclude: ReadonlySet<string>) => Slot | null, anyReady: (exclude: ReadonlySet<string>) => boolean): void {
    const waiting = this.retries;
    this.retries = [];
    for (const f of waiting) {
      const slices = live(f);
      if (slices.length === 0) continue;
      const exclude: ReadonlySet<string> = f.lostRetries > 0 ? f.tried : new Set();
      if (f.lostRetries > 0 && !anyReady(exclude)) {
        for (const s of slices) this.deps.fail(s.entry, new LakerayError('REPLICA_UNAVAILABLE', 'the replica running the request was lost and no other replica is ready', undefined, 1000));
        continue;
      }
      const slot = pick(exclude);
      if (slot === null) this.retries.push(f);
      else this.launch(f, slot);
    }
  }

  private answered(f: Flight, slot: Slot, out: TensorMap, ms: number): void {
    const rows = commonRows(out);
    if (rows !== f.rows) {
      this.failed(f, new ReplicaError('internal', `the replica answered ${rows ?? 'inconsistent'} rows for a batch of ${f.rows}`));
      return;
    }
    this.deps.stats.recordBatch(f.rows);
    this.deps.serviceMs.observe(f.rows, ms);
    slot.batches += 1;
    slot.rows += f.rows;
    let offset = 0;
    for (const s of f.slices) {
      const e = s.entry;
      if (!e.settled) {
        const part = f.slices.length === 1 ? out : sliceRows(out, offset, s.count);
        e.answeredRows += s.count;
        // The usual case, a request answered whole by one batch, needs no reassembly.
        if (s.count === e.rows) this.deps.answer(e, part);
        else {
          e.parts.set(s.start, part);
          if (e.answeredRows === e.rows) {
            const parts = [...e.parts].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
            this.deps.answer(e, concatRows(parts));
          }
        }
      }
      offset += s.count;
    }
  }

  private failed(f: Flight, err: ReplicaError): void {
    if (err.failure === 'lost') {
      this.lost(f, `the replica was lost (${err.message})`);
      return;
    }
    const slices = live(f);
    const [only] = slices;
    if (only === undefined) return;
    if (slices.length === 1) {
      if (f.slices.length === 1) {
        this.deps.fail(only.entry, new LakerayError(err.failure === 'rejected' ? 'INVALID_TENSOR' : 'INFERENCE_FAILED', err.message));
        return;
      }
      // The batch also carried rows of requests that settled meanwhile (one of them may be the
      // culprit): the one left runs alone before it is blamed.
      this.retries.push(this.create([only], f.lostRetries));
      this.deps.changed();
      return;
    }
    const mid = Math.ceil(slices.length / 2);
    this.retries.push(this.create(slices.slice(0, mid), f.lostRetries), this.create(slices.slice(mid), f.lostRetries));
    this.deps.changed();
  }
}

function buildInputs(slices: readonly SliceRef[]): TensorMap {
  const parts = slices.map((s) => (s.start === 0 && s.count === s.entry.rows ? s.entry.inputs : sliceRows(s.entry.inputs, s.start, s.count)));
  return concatRows(parts);
}
