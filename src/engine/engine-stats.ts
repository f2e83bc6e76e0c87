/** What GET /stats shows of the executors: capacity, what the ledgers hold, task counts, warm pools. */
import type { Executor } from '../executors/executor.ts';
import type { TaskStore } from '../store/task-store.ts';
import type { Ledger } from './ledger.ts';
import type { EngineStats } from './task-service.ts';

const vec = (r: { cpu: number; memory_mb: number; gpu: number; custom: Record<string, number> }) => ({
  cpu: r.cpu,
  memory_mb: r.memory_mb,
  gpu: r.gpu,
  ...r.custom,
});

export async function engineStats(store: Pick<TaskStore, 'counts'>, executors: Iterable<Executor>, ledgers: ReadonlyMap<string, Ledger>): Promise<EngineStats> {
  const counts = await store.counts();
  const all = [...executors];
  return {
    executors: all.map((ex) => {
      const ledger = ledgers.get(ex.name);
      const count = (status: string) => counts.find((c) => c.executor === ex.name && c.status === status)?.count ?? 0;
      return {
        name: ex.name,
        capacity: vec(ex.capacity),
        used: ledger ? vec(ledger.used) : {},
        running: count('running') + count('cancelling'),
        queued: count('pending'),
      };
    }),
    pools: all.flatMap((ex) => (ex.poolStats?.() ?? []).map((p) => ({ executor: ex.name, pool: p.pool, workers: p.workers, busy: p.busy, idle: p.idle }))),
  };
}
