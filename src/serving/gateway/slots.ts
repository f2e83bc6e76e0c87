/**
 * The gateway's replicas (one `Slot` each): adding, draining and removing them, which are
 * ready, and routing a batch to one (router.ts). A drained replica leaves once its last batch
 * is released; a removed one loses its batches in flight (gateway/flights.ts retries them).
 */
import { pickReplica, type ReplicaLoad, type RoutePick } from '../router.ts';
import type { ReplicaStats } from '../stats.ts';
import type { LoadBalanceStrategy, Replica } from '../types.ts';
import type { Flight, Slot } from './flights.ts';

export interface SlotDeps {
  /** Batches one replica runs at once. */
  maxConcurrent: number;
  /** A batch of a removed replica is lost. */
  lost: (f: Flight, why: string) => void;
  /** The set or a slot's room changed: the gateway pumps. */
  changed: () => void;
}

export class ReplicaSlots {
  private readonly slots = new Map<string, Slot>();
  /** The round-robin cursor (moves only when a batch goes). */
  private cursor = 0;

  constructor(private readonly deps: SlotDeps) {}

  add(r: Replica): void {
    this.slots.set(r.id, { replica: r, draining: false, batchesInFlight: 0, rowsInFlight: 0, batches: 0, rows: 0, inFlight: new Set(), drained: [] });
    this.deps.changed();
  }

  drain(id: string): Promise<void> {
    const slot = this.slots.get(id);
    if (slot === undefined) return Promise.resolve();
    slot.draining = true;
    const done = new Promise<void>((resolve) => slot.drained.push(resolve));
    this.released(slot);
    return done;
  }

  remove(id: string): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.slots.delete(id);
    for (const resolve of slot.drained.splice(0)) resolve();
    for (const f of [...slot.inFlight]) this.deps.lost(f, `replica ${id} was removed`);
    this.deps.changed();
  }

  /** A batch of `slot` is over: a draining slot with none left leaves. */
  released(slot: Slot): void {
    if (slot.draining && slot.batchesInFlight === 0) {
      // The id may name a new slot by now (the replica was added again while draining).
      if (this.slots.get(slot.replica.id) === slot) this.slots.delete(slot.replica.id);
      for (const resolve of slot.drained.splice(0)) resolve();
    }
    this.deps.changed();
  }

  get(id: string): Slot | undefined {
    return this.slots.get(id);
  }

  ready(): Slot[] {
    return [...this.slots.values()].filter((s) => !s.draining && s.replica.state === 'ready');
  }

  /** GPU ids held by ready replicas (pinned requests go there; others' pins are ignored). */
  heldGpus(): Set<string> {
    const held = new Set<string>();
    for (const s of this.ready()) for (const g of s.replica.gpus) held.add(g);
    return held;
  }

  rowsInFlight(): number {
    let rows = 0;
    for (const s of this.slots.values()) rows += s.rowsInFlight;
    return rows;
  }

  stats(): ReplicaStats[] {
    return [...this.slots.values()].map((s) => ({
      id: s.replica.id, state: s.draining ? 'draining' : s.replica.state, rows_in_flight: s.rowsInFlight,
      batches: s.batches, rows: s.rows, gpus: [...s.replica.gpus],
    }));
  }

  choose(strategy: LoadBalanceStrategy, exclude?: ReadonlySet<string>): RoutePick | null {
    return pickReplica(strategy, this.loads(exclude), this.cursor);
  }

  /** Commit a pick (the round-robin cursor moves only when a batch goes). */
  take(choice: RoutePick | null): Slot | null {
    if (choice === null) return null;
    this.cursor = choice.cursor;
    return this.slots.get(choice.id) ?? null;
  }

  private loads(exclude?: ReadonlySet<string>): ReplicaLoad[] {
    return [...this.slots.values()]
      .filter((s) => !s.draining && exclude?.has(s.replica.id) !== true)
      .map((s) => ({
        id: s.replica.id, state: s.replica.state, rowsInFlight: s.rowsInFlight, batchesInFlight: s.batchesInFlight,
        maxConcurrentBatches: this.deps.maxConcurrent, gpuFreeBytes: s.replica.gpuFreeBytes(),
      }));
  }
}
