/** Conformance: insert, get, idempotency, delete, counts. */
import { describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { makeTask, newTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

export function taskConformance(open: OpenStore): void {
  const store = useStore(open);

  describe('insert and get', () => {
    it('stores a queued task with its first state event at seq 1', async () => {
      const task = makeTask({ tenant: uniq('tenant') });
      const { results, events } = await store().insert([{ task, body_hash: 'h1' }], T0 + 5);
      expect(results).toEqual([{ task: { ...task, last_seq: 1 }, created: true }]);
      const first = { task_id: task.id, tenant: task.tenant, seq: 1, type: 'state', ts: T0 + 5, data: { status: 'pending' } };
      expect(events).toEqual([first]);
      expect(await store().get(task.id)).toEqual({ ...task, last_seq: 1 });
      expect(await store().readEvents(task.id, 0, 100)).toEqual([first]);
    });

    it('returns null for an unknown id', async () => {
      expect(await store().get(uniq('missing'))).toBeNull();
    });

    it('round-trips every field exactly: timestamps, nested JSON, unicode and quotes', async () => {
      const task = makeTask({
        tenant: uniq('tenant'),
        name: 'wan2.2 "t2v" — 视频',
        script: "it's/a script.py",
        input: 'datasets/in',
        output: 'models/out',
        params: { prompt: 'a "quoted" cat\n🐈 on \\ a mat', nested: { list: [1, 2.5, null, true, 'x'], deep: { é: 'ü' } }, empty: {} },
        pool: 'torch',
        resources: { cpu: 0.5, memory_mb: 2048, gpu: 2, custom: { 'nvidia.com/mig-1g': 1 } },
        priority: -7,
        timeout_s: 3600,
        retry: { max_attempts: 3, backoff_ms: 250, backoff_factor: 1.5, max_backoff_ms: 9_999 },
        webhook: 'https://example.test/hook?a=1&b=2',
        webhook_options: { events: ['start', 'completed'], secret: 's3cr"et' },
        labels: { team: 'vision', 'k"ey': "v'al" },
        service: { health_path: '/healthz?probe="1"', restart: 'always', max_restarts: 0, startup_timeout_s: 2.5 },
        attempt: 2,
        created_at: T0 + 123,
        updated_at: T0 + 456,
        started_at: T0 + 789,
        finished_at: 8_640_000_000_000,
        not_before: T0 + 1,
        progress: { fraction: 0.25, message: 'step ½', step: 1, total: 4, eta_s: null },
        result: { url: 'file:///tmp/out.mp4', frames: [0, 1] },
        error: { code: 'SCRIPT_ERROR', message: 'boom', step: 'run' },
        lease_owner: 'node-ä',
        lease_expires_at: T0 + 30_000,
        assignment: { gpus: ['0', '3'], pid: 4242, worker: 'w1' },
        idempotency_key: 'key-"1"',
        cancel_reason: null,
      });
      await seed(store(), [task]);
      expect(await store().get(task.id)).toEqual({ ...task, last_seq: 1 });
    });

    it('round-trips any JSON result value set by a transition', async () => {
      for (const result of ['text', 0, false, [1, 'a', { b: null }], { 'quote"': "it's" }]) {
        const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
        await start(store(), t!.id);
        const [r] = await store().transition([{ id: t!.id, from: ['running'], to: 'completed', patch: { result }, now: T0 + 9 }]);
        expect(r?.task.result).toEqual(result);
        expect((await store().get(t!.id))?.result).toEqual(result);
      }
    });

    it('inserts a batch and gives each task its own log', async () => {
      const tenant = uniq('tenant');
      const tasks = [makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant })];
      const { results, events } = await store().insert(tasks.map((task) => ({ task, body_hash: null })), T0);
      expect(results.map((r) => r.created)).toEqual([true, true, true]);
      expect(events.map((e) => [e.task_id, e.seq])).toEqual(tasks.map((t) => [t.id, 1]));
      for (const t of tasks) expect((await store().get(t.id))?.last_seq).toBe(1);
    });

    it('rolls back the whole batch when one task cannot be inserted (duplicate id)', async () => {
      const tenant = uniq('tenant');
      const [existing] = await seed(store(), [makeTask({ tenant })]);
      const fresh = makeTask({ tenant });
      await expect(
        store().insert(
          [
            { task: fresh, body_hash: null },
            { task: makeTask({ id: existing!.id, tenant }), body_hash: null },
          ],
          T0,
        ),
      ).rejects.toThrow();
      expect(await store().get(fresh.id)).toBeNull();
    });
  });

  describe('idempotency', () => {
    it('returns the existing task for a reused key with the same body hash, adding no event', async () => {
      const tenant = uniq('tenant');
      const first = (await store().insert([newTask({ tenant, idempotency_key: 'k' }, 'hash-a')], T0)).results[0]!.task;
      const again = await store().insert([newTask({ tenant, idempotency_key: 'k' }, 'hash-a')], T0 + 10);
      expect(again.results).toEqual([{ task: first, created: false }]);
      expect(again.events).toEqual([]);
      expect(await store().readEvents(first.id, 0, 100)).toHaveLength(1);
    });

    it('returns the stored task as it is now, not as it was submitted', async () => {
      const tenant = uniq('tenant');
      const first = (await store().insert([newTask({ tenant, idempotency_key: 'k' }, 'h')], T0)).results[0]!.task;
      const running = await start(store(), first.id);
      expect((await store().insert([newTask({ tenant, idempotency_key: 'k' }, 'h')], T0)).results[0]).toEqual({ task: running, created: false });
    });

    it('throws IDEMPOTENCY_CONFLICT for a different body hash and writes nothing of that call', async () => {
      const tenant = uniq('tenant');
      await seed(store(), [makeTask({ tenant, idempotency_key: 'k' })]);
      const fresh = makeTask({ tenant });
      const call = () => store().insert([{ task: fresh, body_hash: null }, newTask({ tenant, idempotency_key: 'k' }, 'other')], T0);
      await expect(call()).rejects.toThrow(LakerayError);
      await expect(call()).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
      expect(await store().get(fresh.id)).toBeNull();
      expect((await store().list({ tenant, limit: 10 })).tasks).toHaveLength(1);
    });

    it('scopes keys per tenant', async () => {
      const a = await store().insert([newTask({ tenant: uniq('tenant'), idempotency_key: 'same' }, 'x')], T0);
      const b = await store().insert([newTask({ tenant: uniq('tenant'), idempotency_key: 'same' }, 'y')], T0);
      expect(a.results[0]?.created).toBe(true);
      expect(b.results[0]?.created).toBe(true);
    });

    it('dedupes a key repeated inside one batch', async () => {
      const tenant = uniq('tenant');
      const { results, events } = await store().insert([newTask({ tenant, idempotency_key: 'k' }, 'h'), newTask({ tenant, idempotency_key: 'k' }, 'h')], T0);
      expect(results.map((r) => r.created)).toEqual([true, false]);
      expect(results[1]?.task.id).toBe(results[0]?.task.id);
      expect(events).toHaveLength(1);
    });

    it('does not constrain tasks without a key', async () => {
      const tenant = uniq('tenant');
      const { results } = await store().insert([newTask({ tenant }, 'h'), newTask({ tenant }, 'h')], T0);
      expect(results.map((r) => r.created)).toEqual([true, true]);
    });
  });

  describe('delete', () => {
    it('deletes a terminal task and its events', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
      await store().transition([{ id: t!.id, from: ['pending'], to: 'cancelled', patch: { finished_at: T0 + 1 }, now: T0 + 1 }]);
      expect(await store().delete(t!.id)).toBe(true);
      expect(await store().get(t!.id)).toBeNull();
      expect(await store().readEvents(t!.id, 0, 100)).toEqual([]);
      expect(await store().delete(t!.id)).toBe(false);
    });

    it('refuses to delete a queued or running task, and reports unknown ids', async () => {
      const tenant = uniq('tenant');
      const [queued, running] = await seed(store(), [makeTask({ tenant }), makeTask({ tenant })]);
      await start(store(), running!.id);
      expect(await store().delete(queued!.id)).toBe(false);
      expect(await store().delete(running!.id)).toBe(false);
      expect((await store().get(queued!.id))?.status).toBe('pending');
      expect(await store().readEvents(running!.id, 0, 100)).toHaveLength(2);
      expect(await store().delete(uniq('missing'))).toBe(false);
    });
  });

  describe('counts', () => {
    it('counts active tasks per executor and status (finished ones are not counted)', async () => {
      const executor = uniq('exec');
      const [a, , , d, e] = await seed(store(), [makeTask({ executor }), makeTask({ executor }), makeTask({ executor }), makeTask({ executor }), makeTask({ executor })]);
      await start(store(), a!.id);
      await start(store(), e!.id);
      await store().transition([{ id: e!.id, from: ['running'], to: 'cancelling', patch: {}, now: T0 + 2 }]);
      await store().transition([{ id: d!.id, from: ['pending'], to: 'cancelled', patch: {}, now: T0 + 2 }]);
      const mine = (await store().counts()).filter((c) => c.executor === executor).sort((x, y) => x.status.localeCompare(y.status));
      expect(mine).toEqual([
        { executor, status: 'cancelling', count: 1 },
        { executor, status: 'pending', count: 2 },
        { executor, status: 'running', count: 1 },
      ]);
    });
  });
}
