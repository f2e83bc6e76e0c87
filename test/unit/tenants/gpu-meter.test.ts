/** The GPU meter over a real (in-memory SQLite) store: GPUs × wall time, per tenant and UTC day. */
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { GpuMeter } from '../../../src/tenants/gpu-meter.ts';

describe('GpuMeter', () => {
  let store: SqliteTaskStore | undefined;
  afterEach(async () => store?.close());

  it('charges GPUs × time at release and on ticks while running, splitting a span at 00:00 UTC', async () => {
    store = SqliteTaskStore.open(':memory:');
    let now = Date.UTC(2026, 11, 5, 23, 59, 0);
    const meter = new GpuMeter({ store: store.tenants, now: () => now, tickMs: 3_600_000 });
    meter.held('t1', 'alice', 2);
    meter.held('t2', 'bob', 0); // no GPU: never charged
    now += 30_000;
    // Running: counted before anything is stored…
    expect(meter.unstored('alice', '2026-12-05', now)).toBeCloseTo(60, 6);
    // …and stored by a tick, so other processes see it while the task runs.
    meter.tick();
    await meter.flush();
    expect((await store.tenants.gpuSecondsOn('2026-12-05')).get('alice')).toBeCloseTo(60, 6);
    now += 60_000; // 00:00:30 on the next day
    meter.released('t1');
    meter.released('t2');
    await meter.stop();
    expect((await store.tenants.gpuSecondsOn('2026-12-05')).get('alice')).toBeCloseTo(120, 6);
    expect((await store.tenants.gpuSecondsOn('2026-12-06')).get('alice')).toBeCloseTo(60, 6);
    expect((await store.tenants.gpuSecondsOn('2026-12-06')).has('bob')).toBe(false);
    expect(meter.unstored('alice', '2026-12-06', now)).toBe(0);
  });
});
