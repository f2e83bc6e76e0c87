import { afterEach, describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { Gateway } from '../../../src/serving/gateway.ts';
import type { BatchSettings, TensorMap } from '../../../src/serving/types.ts';
import { DoublingReplica, rowsOf } from './test-replica.ts';

const SETTINGS: BatchSettings = {
  max_batch_size: 8, batch_timeout_ms: 5, enable_dynamic_batching: true, max_queue: 1000,
  request_timeout_ms: 10_000, load_balance_strategy: 'least_loaded',
};

const gateways: Gateway[] = [];
const gateway = (settings: Partial<BatchSettings> = {}, maxConcurrentBatches?: number): Gateway => {
  const g = new Gateway({ settings: { ...SETTINGS, ...settings }, maxConcurrentBatches });
  gateways.push(g);
  return g;
};
afterEach(() => {
  for (const g of gateways.splice(0)) g.close(new LakerayError('NOT_READY'));
});

const values = (out: TensorMap): number[] => Array.from(out.y!.data as Float32Array);
const doubled = (rows: number, base: number): number[] => Array.from(rowsOf(rows, base).x!.data as Float32Array, (v) => v * 2);
const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: LakerayError) => e.code);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !cond(); i++) await sleep(5);
  expect(cond()).toBe(true);
};

describe('Gateway batching', () => {
  it('batches concurrent requests and splits the outputs back per request', async () => {
    const g = gateway();
    const r = new DoublingReplica('r1');
    g.addReplica(r);
    const outs = await Promise.all([1, 2, 3].map((n, i) => g.submit({ inputs: rowsOf(n, i * 100), rows: n })));
    outs.forEach((out, i) => expect(values(out)).toEqual(doubled(i + 1, i * 100)));
    expect(r.batches).toEqual([6]);
    expect(g.stats()).toMatchObject({ requests_total: 3, rows_total: 6, batches_total: 1, batch_size_histogram: { '8': 1 }, queue_depth: 0, in_flight_rows: 0 });
  });

  it('cuts a request larger than max_batch_size into batches and reassembles it in order', async () => {
    const g = gateway({ max_batch_size: 4 });
    const r = new DoublingReplica('r1');
    g.addReplica(r);
    const [big, small] = await Promise.all([g.submit({ inputs: rowsOf(10, 0), rows: 10 }), g.submit({ inputs: rowsOf(1, 500), rows: 1 })]);
    expect(values(big!)).toEqual(doubled(10, 0));
    expect(values(small!)).toEqual(doubled(1, 500));
    expect(r.batches).toEqual([4, 4, 3]);
  });

  it('sends one request per batch with dynamic batching off', async () => {
    const g = gateway({ enable_dynamic_batching: false, batch_timeout_ms: 10_000 });
    const r = new DoublingReplica('r1');
    g.addReplica(r);
    await Promise.all([1, 2, 3].map((n) => g.submit({ inputs: rowsOf(n, 0), rows: n })));
    expect(r.batches).toEqual([1, 2, 3]);
  });

  it('runs a chain one request at a time in submit order, batched with other chains', async () => {
    const g = gateway({ batch_timeout_ms: 1 });
    const r = new DoublingReplica('r1');
    g.addReplica(r);
    const order: string[] = [];
    const sub = (chain: string, i: number): Promise<void> =>
      g.submit({ inputs: rowsOf(1, i), rows: 1, chain }).then((out) => {
        expect(values(out)).toEqual(doubled(1, i));
        order.push(`${chain}${i}`);
      });
    const all = [0, 1, 2].flatMap((i) => [sub('a', i), sub('b', i)]);
    expect(g.chainStatus('a')).toEqual({ position: 0, pending: 3 });
    expect(g.chainStatus('b')).toEqual({ position: 1, pending: 3 });
    expect(g.chainStatus('z')).toEqual({ position: null, pending: 0 });
    await Promise.all(all);
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    expect(r.batches).toEqual([2, 2, 2]);
  });

  it('waits batch_timeout_ms with an idle replica by default; with close_batch_when_idle it sends at the turn\'s end', async () => {
    const timeout = 400;
    const waited = gateway({ batch_timeout_ms: timeout });
    waited.addReplica(new DoublingReplica('r1'));
    let t0 = performance.now();
    await waited.submit({ inputs: rowsOf(1, 0), rows: 1 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(timeout - 5);

    const g = gateway({ batch_timeout_ms: timeout, close_batch_when_idle: true });
    const r = new DoublingReplica('r1');
    r.mode = 'stall';
    g.addReplica(r);
    t0 = performance.now();
    // Submitted in one turn: they go together, at its end, not after the timeout.
    const first = [0, 1].map((i) => g.submit({ inputs: rowsOf(1, i), rows: 1 }));
    await until(() => r.batches.length === 1);
    expect(r.batches).toEqual([2]);
    // The replica is busy: later requests collect into the next batch rather than go one by one.
    const later = [2, 3, 4].map((i) => g.submit({ inputs: rowsOf(1, i), rows: 1 }));
    await sleep(20);
    expect(r.batches).toEqual([2]);
    r.mode = 'ok';
    r.release();
    const outs = await Promise.all([...first, ...later]);
    outs.forEach((out, i) => expect(values(out)).toEqual(doubled(1, i)));
    expect(r.batches).toEqual([2, 3]);
    expect(performance.now() - t0).toBeLessThan(timeout);
  });

  it('runs up to maxConcurrentBatches batches on one replica at once', async () => {
    const g = gateway({ enable_dynamic_batching: false }, 2);
    const r = new DoublingReplica('r1');
    r.mode = 'stall';
    g.addReplica(r);
    const all = [0, 1, 2].map((i) => g.submit({ inputs: rowsOf(1, i), rows: 1 }));
    await until(() => r.batches.length === 2);
    expect(g.stats()).toMatchObject({ queue_depth: 1, in_flight_rows: 2 });
    expect(g.load()).toEqual({ queue_rows: 1, in_flight_rows: 2 });
    r.mode = 'ok';
    r.release();
    await Promise.all(all);
    expect(r.batches).toHaveLength(3);
    expect(g.load()).toEqual({ queue_rows: 0, in_flight_rows: 0 });
  });

  it('spreads batches round-robin and switches strategy live', async () => {
    const g = gateway({ enable_dynamic_batching: false, load_balance_strategy: 'round_robin' });
    const [a, b] = [new DoublingReplica('a'), new DoublingReplica('b')];
    g.addReplica(a);
    g.addReplica(b);
    for (let i = 0; i < 4; i++) await g.submit({ inputs: rowsOf(1, i), rows: 1 });
    expect([a.batches.length, b.batches.length]).toEqual([2, 2]);
    g.reconfigure({ load_balance_strategy: 'least_loaded' });
    for (let i = 0; i < 4; i++) await g.submit({ inputs: rowsOf(1, i), rows: 1 });
    // Idle replicas tie on load: least_loaded takes the first by id every time.
    expect([a.batches.length, b.batches.length]).toEqual([6, 2]);
  });
});

describe('Gateway failures', () => {
  it('fails only the request the model refuses; the rest of its batch is answered', async () => {
    const g = gateway();
    const r = new DoublingReplica('r1');
    r.mode = 'reject-negative';
    g.addReplica(r);
    const bad = g.submit({ inputs: rowsOf(1, -5), rows: 1 });
    const good = [0, 1, 2, 3, 4].map((i) => g.submit({ inputs: rowsOf(1, 10 * i), rows: 1 }));
    await expect(bad).rejects.toMatchObject({ code: 'INVALID_TENSOR', message: 'input "x": negative values', status: 400 });
    const outs = await Promise.all(good);
    outs.forEach((out, i) => expect(values(out)).toEqual(doubled(1, 10 * i)));
    expect(g.stats().refused.INVALID_TENSOR).toBe(1);
  });

  it('fails a request the runtime errors on with INFERENCE_FAILED, alone', async () => {
    const g = gateway();
    const r = new DoublingReplica('r1');
    r.mode = 'internal-on-nan';
    g.addReplica(r);
    const nan: TensorMap = { x: { dtype: 'float32', shape: [1, 2], data: new Float32Array([NaN, 1]) } };
    const codes = await Promise.all([g.submit({ inputs: rowsOf(2, 0), rows: 2 }), g.submit({ inputs: nan, rows: 1 }), g.submit({ inputs: rowsOf(1, 7), rows: 1 })].map(codeOf));
    expect(codes).toEqual(['ok', 'INFERENCE_FAILED', 'ok']);
  });

  it('refuses rows that disagree with the inputs as INVALID_TENSOR', async () => {
    const g = gateway();
    await expect(g.submit({ inputs: rowsOf(2, 0), rows: 3 })).rejects.toMatchObject({ code: 'INVALID_TENSOR' });
  });

  it('settles a request stuck on a stalled replica by its deadline, aborting the batch', async () => {
    const g = gateway({ request_timeout_ms: 100 });
    const r = new DoublingReplica('r1');
    r.mode = 'stall';
    g.addReplica(r);
    const started = Date.now();
    await expect(g.submit({ inputs: rowsOf(1, 0), rows: 1 })).rejects.toMatchObject({ code: 'INFERENCE_TIMEOUT', status: 504 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    // The abort reached the replica: its slot is free again and it answers the next request.
    r.mode = 'ok';
    expect(values(await g.submit({ inputs: rowsOf(1, 3), rows: 1 }))).toEqual(doubled(1, 3));
  });

  it('reuses a finished batch\'s abort signal for the next batch, never an aborted one', async () => {
    const g = gateway({ request_timeout_ms: 100, enable_dynamic_batching: false });
    const r = new DoublingReplica('r1');
    g.addReplica(r);
    await g.submit({ inputs: rowsOf(1, 0), rows: 1 });
    await g.submit({ inputs: rowsOf(1, 1), rows: 1 });
    expect(r.signals[1]).toBe(r.signals[0]);
    r.mode = 'stall';
    await expect(g.submit({ inputs: rowsOf(1, 2), rows: 1 })).rejects.toMatchObject({ code: 'INFERENCE_TIMEOUT' });
    // The abandoned batch had the spare signal and aborted it: the next batch gets a fresh one.
    expect(r.signals[2]).toBe(r.signals[0]);
    expect(r.signals[2]?.aborted).toBe(true);
    r.mode = 'ok';
    expect(values(await g.submit({ inputs: rowsOf(1, 3), rows: 1 }))).toEqual(doubled(1, 3));
    expect(r.signals[3]).not.toBe(r.signals[2]);
    expect(r.signals[3]?.aborted).toBe(false);
  });

  it('settles requests by their deadline when a replica hangs and ignores the abort; the others keep serving', async () => {
    const g = gateway({ request_timeout_ms: 150, enable_dynamic_batching: false });
    const [hung, ok] = [new DoublingReplica('a-hung'), new DoublingReplica('b-ok')];
    hung.mode = 'hang';
    g.addReplica(hung);
    g.addReplica(ok);
    const codes = await Promise.all([0, 1, 2].map((i) => codeOf(g.submit({ inputs: rowsOf(1, i), rows: 1 }))));
    // The first went to the hung replica (ties go by id) and timed out; its slot stays taken, so the rest ran on b-ok.
    expect(codes).toEqual(['INFERENCE_TIMEOUT', 'ok', 'ok']);
    expect([hung.batches.length, ok.batches.length]).toEqual([1, 2]);
    expect(g.stats().replicas.find((r) => r.id === 'a-hung')?.rows_in_flight).toBe(1);
  });

  it('retries the batches of a replica removed mid-batch on another replica', async () => {
    const g = gateway();
    const [r1, r2] = [new DoublingReplica('r1'), new DoublingReplica('r2')];
    r1.mode = 'stall';
    g.addReplica(r1);
    const pending = [0, 1, 2].map((i) => g.submit({ inputs: rowsOf(1, i), rows: 1 }));
    await until(() => r1.batches.length === 1);
    g.addReplica(r2);
    g.removeReplica('r1');
    const outs = await Promise.all(pending);
    outs.forEach((out, i) => expect(values(out)).toEqual(doubled(1, i)));
    expect(r2.batches).toEqual([3]);
    expect(g.stats().replicas.map((s) => s.id)).toEqual(['r2']);
  });

  it('retries a lost batch once, then answers REPLICA_UNAVAILABLE', async () => {
    const g = gateway({ enable_dynamic_batching: false });
    const [r1, r2] = [new DoublingReplica('r1'), new DoublingReplica('r2')];
    r1.mode = 'lose';
    g.addReplica(r1);
    g.addReplica(r2);
    expect(values(await g.submit({ inputs: rowsOf(1, 4), rows: 1 }))).toEqual(doubled(1, 4));
    expect([r1.batches, r2.batches]).toEqual([[1], [1]]);
    r2.mode = 'lose';
    const err = await g.submit({ inputs: rowsOf(1, 4), rows: 1 }).catch((e: LakerayError) => e);
    expect(err).toMatchObject({ code: 'REPLICA_UNAVAILABLE', status: 503 });
    expect((err as LakerayError).retryAfterMs).toBeGreaterThan(0);
  });

  it('answers REPLICA_UNAVAILABLE when the only replica dies with the batch', async () => {
    const g = gateway();
    const r = new DoublingReplica('r1');
    r.mode = 'stall';
    g.addReplica(r);
    const p = g.submit({ inputs: rowsOf(1, 0), rows: 1 });
    await until(() => r.batches.length === 1);
    g.removeReplica('r1');
    expect(await codeOf(p)).toBe('REPLICA_UNAVAILABLE');
  });
});

describe('Gateway admission and replicas', () => {
  it('holds requests while no replica is ready, fires onDemand, and serves them once one is added', async () => {
    const g = gateway();
    let demands = 0;
    g.onDemand(() => demands++);
    const p = g.submit({ inputs: rowsOf(2, 0), rows: 2 });
    expect(demands).toBe(1);
    await sleep(30);
    expect(g.stats()).toMatchObject({ queue_depth: 1, queue_rows: 2 });
    g.addReplica(new DoublingReplica('cold'));
    expect(values(await p)).toEqual(doubled(2, 0));
  });

  it('times a request out (never refuses it) when no replica comes before its deadline', async () => {
    const g = gateway({ request_timeout_ms: 50 });
    expect(await codeOf(g.submit({ inputs: rowsOf(1, 0), rows: 1 }))).toBe('INFERENCE_TIMEOUT');
    expect(g.stats().refused).toMatchObject({ INFERENCE_TIMEOUT: 1, DEADLINE_UNMEETABLE: 0 });
  });

  it('refuses QUEUE_FULL past max_queue rows, with retryAfterMs', async () => {
    const g = gateway({ max_queue: 3 });
    const held = g.submit({ inputs: rowsOf(3, 0), rows: 3 });
    const err = await g.submit({ inputs: rowsOf(1, 0), rows: 1 }).catch((e: LakerayError) => e);
    expect(err).toMatchObject({ code: 'QUEUE_FULL', status: 429 });
    expect((err as LakerayError).retryAfterMs).toBeGreaterThanOrEqual(1);
    g.addReplica(new DoublingReplica('r1'));
    await held;
  });

  it('refuses DEADLINE_UNMEETABLE up front once the service time says the backlog is too long', async () => {
    const g = gateway({ max_batch_size: 1, enable_dynamic_batching: false });
    const r = new DoublingReplica('r1');
    r.delayMs = 40;
    g.addReplica(r);
    await g.submit({ inputs: rowsOf(1, 0), rows: 1 }); // measures ~40 ms per batch
    const backlog = [0, 1, 2, 3, 4].map((i) => g.submit({ inputs: rowsOf(1, i), rows: 1 }));
    const err = await g.submit({ inputs: rowsOf(1, 0), rows: 1, deadline: Date.now() + 60 }).catch((e: LakerayError) => e);
    expect(err).toMatchObject({ code: 'DEADLINE_UNMEETABLE', status: 503 });
    expect((err as LakerayError).retryAfterMs).toBeGreaterThan(0);
    await Promise.all(backlog);
  });

  it('drains a replica: no new batches, resolves once its batch is answered', async () => {
    const g = gateway({ enable_dynamic_batching: false });
    const [r1, r2] = [new DoublingReplica('r1'), new DoublingReplica('r2')];
    r1.mode = 'stall';
    g.addReplica(r1);
    const first = g.submit({ inputs: rowsOf(1, 0), rows: 1 });
    await until(() => r1.batches.length === 1);
    g.addReplica(r2);
    let drained = false;
    const drain = g.drainReplica('r1').then(() => (drained = true));
    await g.submit({ inputs: rowsOf(1, 1), rows: 1 });
    expect([drained, r1.batches.length, r2.batches.length]).toEqual([false, 1, 1]);
    r1.mode = 'ok';
    r1.release();
    await drain;
    expect(values(await first)).toEqual(doubled(1, 0));
    expect(g.stats().replicas.map((s) => s.id)).toEqual(['r2']);
  });

  it('finishes a drain even when the replica is added again before its batch is answered', async () => {
    const g = gateway();
    const r = new DoublingReplica('r1');
    r.mode = 'stall';
    g.addReplica(r);
    const first = g.submit({ inputs: rowsOf(1, 0), rows: 1 });
    await until(() => r.batches.length === 1);
    const drain = g.drainReplica('r1');
    g.addReplica(r);
    r.mode = 'ok';
    r.release();
    await drain;
    await first;
    expect(g.stats().replicas.map((s) => [s.id, s.state])).toEqual([['r1', 'ready']]);
  });

  it('close rejects everything queued and refuses what comes after', async () => {
    const g = gateway();
    const p = g.submit({ inputs: rowsOf(1, 0), rows: 1 });
    g.close(new LakerayError('DEPLOYMENT_NOT_FOUND'));
    expect(await codeOf(p)).toBe('DEPLOYMENT_NOT_FOUND');
    expect(await codeOf(g.submit({ inputs: rowsOf(1, 0), rows: 1 }))).toBe('DEPLOYMENT_NOT_FOUND');
  });

  it('settles a large queue at once in linear time (close, or a burst of timeouts)', async () => {
    const g = gateway({ max_queue: 100_000 });
    const inputs = rowsOf(1, 0);
    const all = Array.from({ length: 40_000 }, () => codeOf(g.submit({ inputs, rows: 1 })));
    const started = performance.now();
    g.close(new LakerayError('NOT_READY'));
    const codes = await Promise.all(all);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(new Set(codes)).toEqual(new Set(['NOT_READY']));
  });

  it('reports idle time only when nothing is queued or in flight', async () => {
    const g = gateway();
    g.addReplica(new DoublingReplica('r1'));
    const p = g.submit({ inputs: rowsOf(1, 0), rows: 1 });
    expect(g.idleForMs()).toBeNull();
    await p;
    await sleep(20);
    expect(g.idleForMs()).toBeGreaterThanOrEqual(15);
  });
});
