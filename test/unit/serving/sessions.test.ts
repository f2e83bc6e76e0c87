/**
 * SessionManager over a real Gateway and in-test replicas of a stateful model (y = h + x,
 * hn = h + x): the state it carries is checked exactly, chunk by chunk.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { SessionManager, type SessionManagerOptions } from '../../../src/serving/sessions.ts';
import { AccumulatingReplica, chunkOf, SIGNATURE, TestHost, values } from './sessions-fixture.ts';

let host: TestHost;
let sessions: SessionManager;

function setup(opts: Partial<SessionManagerOptions> = {}): void {
  host = new TestHost();
  sessions = new SessionManager({ host, reapEveryMs: 0, ...opts });
}
afterEach(() => {
  sessions.close();
  host.close();
});

const codeOf = async (p: Promise<unknown> | (() => unknown)): Promise<string> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err instanceof LakerayError ? err.code : String(err);
  }
  return 'no error';
};

/** Running sums of a session's chunks: what y must be after each. */
const sums = (xs: number[][]): number[][] => {
  const acc = [0, 0];
  return xs.map((x) => acc.map((v, i) => (acc[i] = v + (x[i] ?? 0))));
};

describe('SessionManager', () => {
  it("answers a session's chunks in order and carries its state exactly", async () => {
    setup();
    const replica = new AccumulatingReplica('r1');
    host.add('m').addReplica(replica);
    const s = sessions.create('default', 'm', 'user_001');
    const xs = Array.from({ length: 6 }, (_, i) => [i + 1, (i + 1) * 10]);
    const order: number[] = [];
    // All sent at once: each must still see the state of the one before it.
    const answers = await Promise.all(xs.map((x) => sessions.chunk(s.session_id, chunkOf(x)).then((a) => (order.push(a.seq), a))));
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
    expect(answers.map((a) => values(a.outputs.y))).toEqual(sums(xs));
    expect(Object.keys(answers[0]!.outputs)).toEqual(['y']); // the state output is not the client's
    expect(values(sessions.stateOf(s.session_id)?.h)).toEqual([21, 210]);
    expect(sessions.status('default', s.session_id)).toMatchObject({ status: 'open', chunks_done: 6, pending_chunks: 0, position: null, client_id: 'user_001' });
  });

  it('batches chunks of 8 sessions together, each keeping its own state', async () => {
    setup();
    const replica = new AccumulatingReplica('r1');
    replica.delayMs = 15; // while a batch runs, the other sessions' next chunks queue up together
    host.add('m', {}, { max_batch_size: 8, batch_timeout_ms: 20 }).addReplica(replica);
    const ids = Array.from({ length: 8 }, (_, i) => sessions.create('default', 'm', `c${i}`).session_id);
    const chunksOf = (k: number) => Array.from({ length: 5 }, (_, i) => [k + i, 100 * k + i]);
    const results = await Promise.all(ids.map((id, k) => Promise.all(chunksOf(k).map((x) => sessions.chunk(id, chunkOf(x))))));
    results.forEach((answers, k) => expect(answers.map((a) => values(a.outputs.y))).toEqual(sums(chunksOf(k))));
    expect(replica.batches.reduce((a, b) => a + b, 0)).toBe(40);
    expect(Math.max(...replica.batches)).toBeGreaterThan(1);
    expect(replica.batches.length).toBeLessThan(40);
  });

  it('tells the gateway when a session ends, so the next wave does not wait for it', async () => {
    setup();
    const replica = new AccumulatingReplica('r1');
    host.add('m', {}, { batch_timeout_ms: 1000 }).addReplica(replica);
    const [a, b] = ['a', 'b'].map((c) => sessions.create('default', 'm', c).session_id) as [string, string];
    await Promise.all([a, b].map((id) => sessions.chunk(id, chunkOf([1, 1]))));
    expect(replica.batches).toEqual([2]);
    // b was answered with a: a's next chunk waits for b's, up to the timeout...
    const next = sessions.chunk(a, chunkOf([2, 2]));
    await new Promise((r) => setTimeout(r, 50));
    expect(replica.batches).toEqual([2]);
    // ...unless b ends: then it goes at once.
    const ended = Date.now();
    sessions.delete('default', b);
    expect(values((await next).outputs.y)).toEqual([3, 3]);
    expect(Date.now() - ended).toBeLessThan(500);
  });

  it('keeps a session going when its replica is drained or removed: the state is the gateway’s', async () => {
    setup();
    const gateway = host.add('m', {}, { load_balance_strategy: 'round_robin' });
    const [r1, r2] = [new AccumulatingReplica('r1'), new AccumulatingReplica('r2')];
    gateway.addReplica(r1);
    const s = sessions.create('default', 'm', 'c');
    await sessions.chunk(s.session_id, chunkOf([1, 2]));
    await sessions.chunk(s.session_id, chunkOf([3, 4]));
    expect(r1.batches).toEqual([1, 1]);
    gateway.addReplica(r2);
    await gateway.drainReplica('r1');
    gateway.removeReplica('r1');
    const third = await sessions.chunk(s.session_id, chunkOf([5, 6]));
    expect(r2.batches).toEqual([1]);
    expect(values(third.outputs.y)).toEqual([9, 12]);

    // Killed while a chunk runs on it: the chunk runs again elsewhere, from the same state.
    const r3 = new AccumulatingReplica('r3');
    r2.stall = true;
    const running = sessions.chunk(s.session_id, chunkOf([7, 8]));
    await until(() => r2.batches.length === 2);
    gateway.addReplica(r3);
    gateway.removeReplica('r2');
    expect(values((await running).outputs.y)).toEqual([16, 20]);
    expect(r3.batches).toEqual([1]);
  });

  it('reaps idle sessions and frees their state, but not one with chunks pending', async () => {
    let now = 1_000_000;
    setup({ idleTimeoutMs: 60_000, now: () => now });
    const replica = new AccumulatingReplica('r1');
    host.add('m').addReplica(replica);
    const idle = sessions.create('default', 'm', 'a').session_id;
    const busy = sessions.create('default', 'm', 'b').session_id;
    const fresh = sessions.create('default', 'm', 'c').session_id;
    await sessions.chunk(idle, chunkOf([1, 1]));
    const ended: string[] = [];
    sessions.onEnd(idle, (reason) => ended.push(reason));
    replica.stall = true;
    const pending = sessions.chunk(busy, chunkOf([2, 2]));
    now += 59_000;
    sessions.status('default', fresh); // reading its status is activity
    now += 2_000;
    expect(sessions.reapIdle()).toEqual([idle]);
    expect(ended).toEqual(['idle']);
    expect(sessions.stateOf(idle)).toBeUndefined();
    expect(await codeOf(() => sessions.status('default', idle))).toBe('SESSION_NOT_FOUND');
    expect(await codeOf(sessions.chunk(idle, chunkOf([1, 1])))).toBe('SESSION_NOT_FOUND');
    await until(() => replica.batches.length === 2);
    replica.release();
    await pending;
    now += 60_000;
    expect(sessions.reapIdle().sort()).toEqual([busy, fresh].sort());
    expect(sessions.size).toBe(0);
  });

  it('fails a bad chunk alone: the state stays and the next chunk goes on from it', async () => {
    setup();
    host.add('m').addReplica(new AccumulatingReplica('r1'));
    const s = sessions.create('default', 'm', 'c').session_id;
    await sessions.chunk(s, chunkOf([1, 1]));
    expect(await codeOf(sessions.chunk(s, chunkOf([-1, 5])))).toBe('INVALID_TENSOR'); // the model refuses it
    const withState = { ...chunkOf([1, 1]), h: chunkOf([0, 0]).x! };
    expect(await codeOf(sessions.chunk(s, withState))).toBe('INVALID_TENSOR'); // state is the session's
    expect(await codeOf(sessions.chunk(s, { z: chunkOf([1, 1]).x! }))).toBe('INVALID_TENSOR');
    expect(await codeOf(sessions.chunk(s, chunkOf([1, 1], [2, 2])))).toBe('INVALID_TENSOR'); // rows differ from its state
    const next = await sessions.chunk(s, chunkOf([2, 3]));
    expect(next.seq).toBe(6);
    expect(values(next.outputs.y)).toEqual([3, 4]);
    expect(sessions.status('default', s).chunks_done).toBe(2);
  });

  it('reports queue position and pending chunks, and ends waiting chunks on delete', async () => {
    setup();
    const replica = new AccumulatingReplica('r1');
    replica.stall = true;
    host.add('m', {}, { max_batch_size: 1 }).addReplica(replica);
    const a = sessions.create('default', 'm', 'a').session_id;
    const b = sessions.create('default', 'm', 'b').session_id;
    const first = sessions.chunk(a, chunkOf([1, 1])); // runs (stalled)
    const waits = [sessions.chunk(b, chunkOf([1, 1])), sessions.chunk(b, chunkOf([2, 2]))];
    await until(() => replica.batches.length === 1 && sessions.status('default', b).position === 0);
    expect(sessions.status('default', b)).toMatchObject({ position: 0, pending_chunks: 2, chunks_done: 0 });
    expect(sessions.status('default', a)).toMatchObject({ position: null, pending_chunks: 1 });
    expect(sessions.delete('default', b)).toBe(0);
    replica.release();
    await until(() => replica.batches.length === 2);
    replica.release();
    expect(await Promise.all(waits.map((w) => codeOf(w)))).toEqual(['SESSION_NOT_FOUND', 'SESSION_NOT_FOUND']);
    expect((await first).seq).toBe(1);
    expect(await codeOf(() => sessions.delete('default', b))).toBe('SESSION_NOT_FOUND');
  });

  it('routes by the routing table, refuses unknown keys and deployments, and bounds the sessions', async () => {
    setup({ maxSessions: 3 });
    host.add('zh', { routing: { 'English -> Chinese': '0', 'English -> Italian': 'it' } });
    host.add('it');
    expect(sessions.create('default', 'zh', 'u', 'English -> Chinese')).toMatchObject({ deployment: 'zh', gpu: '0', routing_key: 'English -> Chinese' });
    expect(sessions.create('default', 'zh', 'u', 'English -> Italian')).toMatchObject({ deployment: 'it', gpu: null });
    expect(await codeOf(() => sessions.create('default', 'zh', 'u', 'English -> Klingon'))).toBe('INVALID_REQUEST');
    expect(await codeOf(() => sessions.create('default', 'nope', 'u'))).toBe('DEPLOYMENT_NOT_FOUND');
    expect(sessions.create('default', 'it', 'u', 'anything')).toMatchObject({ deployment: 'it', routing_key: 'anything' }); // no table: recorded only
    expect(await codeOf(() => sessions.create('default', 'it', 'u'))).toBe('TOO_MANY_SESSIONS');
    expect(sessions.size).toBe(3);
  });

  it('bounds the chunks one session may have waiting', async () => {
    setup({ maxPendingChunks: 2 });
    const replica = new AccumulatingReplica('r1');
    replica.stall = true;
    host.add('m').addReplica(replica);
    const s = sessions.create('default', 'm', 'c').session_id;
    const held = [sessions.chunk(s, chunkOf([1, 1])), sessions.chunk(s, chunkOf([1, 1]))];
    expect(await codeOf(sessions.chunk(s, chunkOf([1, 1])))).toBe('QUEUE_FULL');
    await until(() => replica.batches.length === 1);
    replica.release();
    await until(() => replica.batches.length === 2);
    replica.release();
    expect((await Promise.all(held)).map((a) => values(a.outputs.y))).toEqual([[1, 1], [2, 2]]);
  });

  it("checks chunks against the deployment's current signature: a new one is taken up by an open session", async () => {
    setup();
    host.add('m').addReplica(new AccumulatingReplica('r1'));
    const s = sessions.create('default', 'm', 'c').session_id;
    expect(values((await sessions.chunk(s, chunkOf([1, 2]))).outputs.y)).toEqual([1, 2]);
    expect(sessions.chunkInputs(s).map((i) => i.name)).toEqual(['x']);
    // The model now takes a second input too (a redeploy reports a new signature object).
    const d = host.deployments.get('m')!;
    d.signature = { ...SIGNATURE, inputs: [...SIGNATURE.inputs, { name: 'z', dtype: 'float32', shape: ['batch', 1] }] };
    expect(sessions.chunkInputs(s).map((i) => i.name)).toEqual(['x', 'z']);
    const missing = await codeOf(sessions.chunk(s, chunkOf([1, 2])));
    expect(missing).toBe('INVALID_TENSOR');
  });
});

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}
