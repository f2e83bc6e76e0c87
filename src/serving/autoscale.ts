/**
 * How many replicas a deployment wants now, between `replicas.min` and `replicas.max`. Pure:
 * the deployment manager calls it on every tick with what it observes.
 *
 * - Cold start: requests waiting and no replica at all → one, at once (never refuse: they wait).
 * - Up: the rows waiting or running need more than `ROWS_PER_REPLICA` full batches per replica
 *   for `UP_AFTER_MS` in a row → one more (one at a time: each start costs a model load).
 * - Down: the load has fitted one replica fewer for `idle_timeout_s` → one fewer, down to min;
 *   a deployment with nothing to do for `idle_timeout_s` goes down to min (0: scaled to zero).
 */

export interface ScaleObservation {
  now: number;
  /** Replicas starting or ready (not draining). */
  replicas: number;
  queueRows: number;
  inFlightRows: number;
  maxBatchSize: number;
  /** ms the deployment has had nothing queued or in flight; null while busy. */
  idleForMs: number | null;
}

export interface ScaleBounds {
  min: number;
  max: number;
  idle_timeout_s: number;
}

/** What the policy remembers between ticks. */
export interface ScaleMemory {
  /** Since when the load has asked for more replicas than there are. */
  overSince: number | null;
  /** Since when the load has fitted one replica fewer. */
  underSince: number | null;
}

export const UP_AFTER_MS = 500;
/** Full batches of work per replica beyond which one more replica helps. */
export const BATCHES_PER_REPLICA = 2;

export const initialScaleMemory = (): ScaleMemory => ({ overSince: null, underSince: null });

export function desiredReplicas(o: ScaleObservation, b: ScaleBounds, mem: ScaleMemory): { replicas: number; memory: ScaleMemory } {
  const clamp = (n: number) => Math.max(b.min, Math.min(b.max, n));
  const current = o.replicas;
  if (current < b.min) return { replicas: b.min, memory: initialScaleMemory() };
  if (current > b.max) return { replicas: b.max, memory: initialScaleMemory() };
  const work = o.queueRows + o.inFlightRows;
  if (current === 0) return { replicas: work > 0 ? clamp(1) : 0, memory: initialScaleMemory() };

  const perReplica = Math.max(1, o.maxBatchSize * BATCHES_PER_REPLICA);
  const needed = Math.ceil(work / perReplica);
  const memory: ScaleMemory = {
    overSince: needed > current ? (mem.overSince ?? o.now) : null,
    underSince: needed < current ? (mem.underSince ?? o.now) : null,
  };
  if (memory.overSince !== null && o.now - memory.overSince >= UP_AFTER_MS && current < b.max) {
    return { replicas: current + 1, memory: { overSince: null, underSince: null } };
  }
  const idleMs = b.idle_timeout_s * 1000;
  if (o.idleForMs !== null && o.idleForMs >= idleMs) return { replicas: clamp(0), memory: initialScaleMemory() };
  if (memory.underSince !== null && o.now - memory.underSince >= idleMs && current > b.min) {
    return { replicas: current - 1, memory: { overSince: null, underSince: null } };
  }
  return { replicas: current, memory };
}
