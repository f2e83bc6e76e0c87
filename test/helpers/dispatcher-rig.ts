/**
 * The real Dispatcher over a given store, with one fake executor `local` of `cpu` CPUs that
 * starts no process: `run` only records the task (a cancel, e.g. the dispatcher's stop, ends it
 * at once). For tests of what the dispatcher claims and when (lost claims, quotas).
 */
import { parseConfig } from '../../src/config/load.ts';
import { Dispatcher } from '../../src/engine/dispatcher.ts';
import { EventWriter } from '../../src/engine/event-writer.ts';
import { NO_OBSERVER } from '../../src/engine/observer.ts';
import { MemoryEventBus } from '../../src/events/memory.ts';
import type { Executor, RunCallbacks } from '../../src/executors/executor.ts';
import type { Fence, TaskStore } from '../../src/store/task-store.ts';
import type { TenantStore } from '../../src/store/tenant-store.ts';
import { TenantDirectory } from '../../src/tenants/directory.ts';
import { GpuMeter } from '../../src/tenants/gpu-meter.ts';

export interface DispatcherRig {
  dispatcher: Dispatcher;
  /** The tasks the executor was asked to run, by id. */
  runs: Map<string, RunCallbacks>;
  errors: string[];
  /** Stops the dispatcher, the GPU meter and the event writer (not the store). */
  stop(): Promise<void>;
}

/** `cpu` CPUs and no process: `run` records the task; a cancel ends it at once. */
export function recordingExecutor(name: string, cpu: number): { executor: Executor; runs: Map<string, RunCallbacks> } {
  const runs = new Map<string, RunCallbacks>();
  const executor: Executor = {
    name,
    kind: 'fake',
    capacity: { cpu, memory_mb: 0, gpu: 0, custom: {} },
    gpuInventory: [],
    settings: { graceMs: 0 },
    run: (task, _gpus, callbacks) => void runs.set(task.id, callbacks),
    cancel: (id) => runs.get(id)?.exit({ kind: 'cancelled' }),
    reattach: async () => new Map(),
    close: async () => {},
  };
  return { executor, runs };
}

/** A dispatcher of `instanceId` owning executor `local` under `fence`; `tenants`: the tenants section of the config. */
export function dispatcherRig(opts: { store: TaskStore; tenantStore: TenantStore; instanceId: string; fence: Fence; cpu: number; tenants?: unknown }): DispatcherRig {
  const { store, tenantStore, instanceId, fence, cpu } = opts;
  const config = parseConfig(opts.tenants === undefined ? {} : { tenants: opts.tenants }, '/tmp', {});
  const writer = new EventWriter(store, new MemoryEventBus(), () => {}, () => {});
  const meter = new GpuMeter({ store: tenantStore, now: Date.now, onError: () => {} });
  const { executor, runs } = recordingExecutor('local', cpu);
  const errors: string[] = [];
  const dispatcher = new Dispatcher({
    store,
    executors: new Map([['local', executor]]),
    writer,
    observer: NO_OBSERVER,
    config,
    instanceId,
    fenceOf: (name) => (name === 'local' ? fence : undefined),
    tenants: { directory: new TenantDirectory(tenantStore, config.tenants, Date.now), meter },
    onError: (err, context) => errors.push(`${context}: ${String(err)}`),
  });
  const stop = async (): Promise<void> => {
    await dispatcher.stop();
    await meter.stop();
    await writer.flush();
  };
  return { dispatcher, runs, errors, stop };
}
