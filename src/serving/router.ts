/**
 * Which replica runs the next batch (pure). Only replicas that are `ready` and have room for
 * one more batch are candidates; the strategy is read per batch, so switching it is live.
 * - least_loaded: fewest rows in flight, ties by id order.
 * - round_robin: the first candidate at or after the cursor, in id order.
 * - gpu_memory: most free GPU bytes when every candidate can tell, else least_loaded.
 */
import type { LoadBalanceStrategy, ReplicaState } from './types.ts';

export interface ReplicaLoad {
  readonly id: string;
  readonly state: ReplicaState;
  readonly rowsInFlight: number;
  readonly batchesInFlight: number;
  readonly maxConcurrentBatches: number;
  readonly gpuFreeBytes: number | null;
}

export interface RoutePick {
  readonly id: string;
  /** The round-robin cursor after this pick (unchanged by the other strategies). */
  readonly cursor: number;
}

const byId = (a: ReplicaLoad, b: ReplicaLoad): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const hasRoom = (r: ReplicaLoad): boolean => r.state === 'ready' && r.batchesInFlight < r.maxConcurrentBatches;

export function pickReplica(strategy: LoadBalanceStrategy, replicas: readonly ReplicaLoad[], cursor: number): RoutePick | null {
  const ordered = [...replicas].sort(byId);
  const candidates = ordered.filter(hasRoom);
  if (candidates.length === 0) return null;
  if (strategy === 'round_robin') {
    // The cursor counts over every ready replica, so a busy one keeps its turn order.
    const ready = ordered.filter((r) => r.state === 'ready');
    for (let i = 0; i < ready.length; i++) {
      const at = (cursor + i) % ready.length;
      const r = ready[at];
      if (r !== undefined && hasRoom(r)) return { id: r.id, cursor: (at + 1) % ready.length };
    }
    return null;
  }
  if (strategy === 'gpu_memory' && candidates.every((r) => r.gpuFreeBytes !== null)) {
    return { id: best(candidates, (a, b) => (b.gpuFreeBytes ?? 0) - (a.gpuFreeBytes ?? 0) || a.rowsInFlight - b.rowsInFlight).id, cursor };
  }
  return { id: best(candidates, (a, b) => a.rowsInFlight - b.rowsInFlight).id, cursor };
}

/** The first of `rs` (already in id order) that no later one beats: ties keep id order. */
function best(rs: readonly ReplicaLoad[], cmp: (a: ReplicaLoad, b: ReplicaLoad) => number): ReplicaLoad {
  let winner = rs[0] as ReplicaLoad;
  for (const r of rs.slice(1)) if (cmp(r, winner) < 0) winner = r;
  return winner;
}
