/**
 * Conformance: transition() as an atomic compare-and-set. The property test drives random
 * sequences of attempts against a model built from domain/lifecycle and checks that the store
 * agrees on every attempt, that every state log is a legal path, and that terminal states stick.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition } from '../../../src/domain/lifecycle.ts';
import { isTerminal, TASK_STATUSES, type TaskStatus } from '../../../src/domain/task.ts';
import type { TransitionRequest } from '../../../src/store/task-store.ts';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

export function transitionConformance(open: OpenStore): void {
  const store = useStore(open);

  describe('transition', async () => {
    it('applies the patch, stamps updated_at and appends the state event with the next seq', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
      const patch = { attempt: 1, started_at: T0 + 10, lease_owner: 'node-a', lease_expires_at: T0 + 30_010, assignment: { gpus: ['1'] } };
      const [r] = await store().transition([{ id: t!.id, from: ['pending'], to: 'running', patch, event: { reason: 'dispatched', gpus: ['1'] }, now: T0 + 10 }]);
      const expected = { ...t!, ...patch, status: 'running', updated_at: T0 + 10, last_seq: 2 };
      expect(r?.task).toEqual(expected);
      expect(r?.event).toEqual({
        task_id: t!.id,
        tenant: t!.tenant,
        seq: 2,
        type: 'state',
        ts: T0 + 10,
        data: { status: 'running', reason: 'dispatched', gpus: ['1'] },
      });
      expect(await store().get(t!.id)).toEqual(expected);
      expect(await store().readEvents(t!.id, 1, 10)).toEqual([r?.event]);
    });

    it('appends `before` events ahead of the state event, in the same compare-and-set', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
      await start(store(), t!.id);
      const before = [{ type: 'result' as const, data: { value: { acc: 0.9 } } }, { type: 'metric' as const, data: { name: 'loss', value: 0.1 } }];
      const [r] = await store().transition([{ id: t!.id, from: ['running'], to: 'completed', patch: { finished_at: T0 + 50 }, before, now: T0 + 50 }]);
      expect(r!.before.map((e) => [e.seq, e.type])).toEqual([[3, 'result'], [4, 'metric']]);
      expect(r!.event.seq).toBe(5);
      expect(r!.task.last_seq).toBe(5);
      const log = await store().readEvents(t!.id, 0, 100);
      expect(log.map((e) => e.type)).toEqual(['state', 'state', 'result', 'metric', 'state']);
      expect(log[2]!.data).toEqual({ value: { acc: 0.9 } });
      // A lost compare-and-set writes none of them.
      const [lost] = await store().transition([{ id: t!.id, from: ['running'], to: 'failed', patch: {}, before, now: T0 + 60 }]);
      expect(lost).toBeNull();
      expect((await store().readEvents(t!.id, 0, 100)).length).toBe(5);
    });

    it('clears fields patched to null and leaves unpatched fields alone', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant'), labels: { keep: 'me' } })]);
      await start(store(), t!.id, 'node-a');
      const [r] = await store().transition([
        { id: t!.id, from: ['running'], to: 'completed', patch: { lease_owner: null, lease_expires_at: null, finished_at: T0 + 50 }, now: T0 + 50 },
      ]);
      expect(r?.task).toMatchObject({ status: 'completed', lease_owner: null, lease_expires_at: null, finished_at: T0 + 50, attempt: 1, labels: { keep: 'me' } });
      expect(await store().get(t!.id)).toEqual(r?.task);
    });

    it('fails the CAS (null, nothing written) when the status is not in `from`', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
      expect(await store().transition([{ id: t!.id, from: ['running'], to: 'completed', patch: { finished_at: 1 }, now: T0 + 1 }])).toEqual([null]);
      expect(await store().get(t!.id)).toEqual(t);
      expect(await store().readEvents(t!.id, 0, 10)).toHaveLength(1);
    });

    it('never applies an illegal transition, even when `from` allows the current status', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
      expect(await store().transition([{ id: t!.id, from: ['pending'], to: 'completed', patch: {}, now: T0 + 1 }])).toEqual([null]);
      expect(await store().transition([{ id: t!.id, from: ['pending'], to: 'cancelling', patch: {}, now: T0 + 1 }])).toEqual([null]);
      expect(await store().transition([{ id: t!.id, from: ['pending'], to: 'pending', patch: {}, now: T0 + 1 }])).toEqual([null]);
      expect((await store().get(t!.id))?.status).toBe('pending');
    });

    it('requires the lease owner when one is given', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
      await start(store(), t!.id, 'node-a');
      const req = (owner: string): TransitionRequest => ({ id: t!.id, from: ['running'], to: 'completed', lease_owner: owner, patch: {}, now: T0 + 5 });
      expect(await store().transition([req('node-b')])).toEqual([null]);
      expect((await store().transition([req('node-a')]))[0]?.task.status).toBe('completed');
    });

    it('returns null for an unknown id', async () => {
      expect(await store().transition([{ id: uniq('missing'), from: ['pending'], to: 'running', patch: {}, now: T0 }])).toEqual([null]);
    });

    it('answers each request of a batch in its slot', async () => {
      const tenant = uniq('tenant');
      const [a, b, c] = await seed(store(), [makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant })]);
      const out = await store().transition([
        { id: a!.id, from: ['pending'], to: 'running', patch: {}, now: T0 + 1 },
        { id: b!.id, from: ['running'], to: 'failed', patch: {}, now: T0 + 1 },
        { id: c!.id, from: ['pending'], to: 'cancelled', patch: {}, now: T0 + 1 },
      ]);
      expect(out.map((r) => r?.task.status ?? null)).toEqual(['running', null, 'cancelled']);
    });

    it('sees earlier requests of the same batch: a task completes at most once', async () => {
      const [t] = await seed(store(), [makeTask({ tenant: uniq('tenant') })]);
      await start(store(), t!.id);
      const finish = (result: string): TransitionRequest => ({ id: t!.id, from: ['running'], to: 'completed', patch: { result }, now: T0 + 9 });
      const out = await store().transition([finish('first'), finish('second')]);
      expect(out[0]?.task.result).toBe('first');
      expect(out[1]).toBeNull();
      expect((await store().get(t!.id))?.result).toBe('first');
      expect((await store().readEvents(t!.id, 0, 10, ['state'])).map((e) => e.data.status)).toEqual(['pending', 'running', 'completed']);
    });

    it('answers a long batch of one shape request by request: own patch values, own checks, own events', async () => {
      const tenant = uniq('tenant');
      const tasks = await seed(store(), Array.from({ length: 12 }, () => makeTask({ tenant })));
      for (const t of tasks.slice(0, 10)) await start(store(), t.id, 'node-a');
      // Completions of one shape (a settle): task 3 is leased by another node, tasks 10 and 11 never ran,
      // task 5 is completed twice (the second sees the first) and a claim of another shape sits in between.
      const finish = (i: number, value: number): TransitionRequest => ({
        id: tasks[i]!.id,
        from: ['running'],
        to: 'completed',
        lease_owner: i === 3 ? 'node-b' : 'node-a',
        patch: { finished_at: T0 + 100 + i, result: { value }, lease_owner: null, lease_expires_at: null },
        before: [{ type: 'result', data: { value } }],
        now: T0 + 100 + i,
      });
      const claim: TransitionRequest = { id: tasks[11]!.id, from: ['pending'], to: 'running', patch: { attempt: 1, assignment: { gpus: ['7'] } }, now: T0 + 200 };
      const requests = [...[0, 1, 2, 3, 4, 5].map((i) => finish(i, i)), claim, finish(5, 55), ...[6, 7, 8, 9, 10].map((i) => finish(i, i))];
      const out = await store().transition(requests);
      const expected = [0, 1, 2, null, 4, 5, 'claim', null, 6, 7, 8, 9, null];
      expect(out.map((r) => (r === null ? null : r.task.status === 'running' ? 'claim' : (r.task.result as { value: number }).value))).toEqual(expected);
      for (const [k, r] of out.entries()) {
        if (r === null || r.task.status === 'running') continue;
        const i = tasks.findIndex((t) => t.id === r.task.id);
        expect(r.task).toMatchObject({ status: 'completed', finished_at: T0 + 100 + i, updated_at: T0 + 100 + i, lease_owner: null, last_seq: 4 });
        expect(r.before.map((e) => [e.seq, e.type, e.data])).toEqual([[3, 'result', { value: i }]]);
        expect([r.event.seq, r.event.ts, r.event.data.status]).toEqual([4, T0 + 100 + i, 'completed']);
        expect(await store().get(r.task.id)).toEqual(r.task);
        expect(await store().readEvents(r.task.id, 2, 10)).toEqual([...r.before, r.event]);
        expect(requests[k]!.id).toBe(r.task.id);
      }
      expect(out[6]?.task).toMatchObject({ status: 'running', attempt: 1, assignment: { gpus: ['7'] }, updated_at: T0 + 200 });
      expect((await store().get(tasks[3]!.id))?.status).toBe('running');
      expect((await store().get(tasks[10]!.id))?.status).toBe('pending');
    });

    it('lets exactly one of many concurrent completions win', async () => {
      const tenant = uniq('tenant');
      const tasks = await seed(store(), Array.from({ length: 20 }, () => makeTask({ tenant })));
      for (const t of tasks) await start(store(), t.id);
      // Each "worker" races to finish every task, as duplicate result deliveries would; all
      // calls are in flight at once (truly concurrent on a networked store).
      const attempt = (worker: number) =>
        Promise.all(
          tasks.map(async (t) => {
            const to = worker % 2 === 0 ? 'completed' : 'failed';
            return (await store().transition([{ id: t.id, from: ['running', 'cancelling'], to, patch: { result: worker }, now: T0 + 100 + worker }]))[0];
          }),
        );
      const results = await Promise.all([0, 1, 2, 3, 4].map(attempt));
      for (let i = 0; i < tasks.length; i++) {
        const winners = results.map((r) => r[i]).filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        const stored = await store().get(tasks[i]!.id);
        expect(stored?.result).toBe(winners[0]?.task.result);
        expect(await store().readEvents(tasks[i]!.id, 0, 10)).toHaveLength(3);
      }
    });

    it('keeps terminal states forever', async () => {
      const tenant = uniq('tenant');
      const [t] = await seed(store(), [makeTask({ tenant })]);
      await store().transition([{ id: t!.id, from: ['pending'], to: 'failed', patch: {}, now: T0 + 1 }]);
      for (const to of TASK_STATUSES) {
        expect(await store().transition([{ id: t!.id, from: TASK_STATUSES, to, patch: {}, now: T0 + 2 }])).toEqual([null]);
      }
      expect((await store().get(t!.id))?.status).toBe('failed');
    });

    it('property: random attempts agree with the lifecycle model and logs are legal paths', async () => {
      const status = fc.constantFrom(...TASK_STATUSES);
      const owner = fc.constantFrom('a', 'b');
      const attempt = fc.record({
        task: fc.nat({ max: 2 }),
        from: fc.uniqueArray(status, { minLength: 1, maxLength: 6 }),
        to: status,
        requireOwner: fc.option(owner, { nil: undefined }),
        setOwner: fc.option(owner, { nil: undefined }),
      });
      const scenario = fc.record({ attempts: fc.array(attempt, { maxLength: 30 }), batched: fc.boolean() });

      await fc.assert(
        fc.asyncProperty(scenario, async ({ attempts, batched }) => {
          const tenant = uniq('tenant');
          const tasks = await seed(store(), [makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant })]);
          const model = tasks.map(() => ({ status: 'pending' as TaskStatus, owner: null as string | null }));
          const requests: TransitionRequest[] = attempts.map((a, i) => ({
            id: tasks[a.task]!.id,
            from: a.from,
            to: a.to,
            ...(a.requireOwner !== undefined ? { lease_owner: a.requireOwner } : {}),
            patch: a.setOwner !== undefined ? { lease_owner: a.setOwner } : {},
            now: T0 + 1 + i,
          }));
          const expected = attempts.map((a) => {
            const m = model[a.task]!;
            const ok = a.from.includes(m.status) && canTransition(m.status, a.to) && (a.requireOwner === undefined || a.requireOwner === m.owner);
            if (ok) {
              m.status = a.to;
              if (a.setOwner !== undefined) m.owner = a.setOwner;
            }
            return ok;
          });
          let results: unknown[] = [];
          if (batched) results = await store().transition(requests);
          // One call at a time, in order: the model assumes each sees the previous one.
          else for (const r of requests) results.push((await store().transition([r]))[0] ?? null);
          expect(results.map((r) => r !== null)).toEqual(expected);

          for (const [i, t] of tasks.entries()) {
            expect((await store().get(t.id))?.status).toBe(model[i]!.status);
            const log = await store().readEvents(t.id, 0, 1000);
            expect(log.map((e) => e.seq)).toEqual(log.map((_, k) => k + 1));
            const path = log.map((e) => e.data.status as TaskStatus);
            expect(path[0]).toBe('pending');
            for (let k = 1; k < path.length; k++) {
              expect(isTerminal(path[k - 1]!)).toBe(false);
              expect(canTransition(path[k - 1]!, path[k]!)).toBe(true);
            }
          }
        }),
        { numRuns: 100 },
      );
    });
  });
}
