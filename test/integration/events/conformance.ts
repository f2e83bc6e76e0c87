/**
 * The EventBus contract (src/events/event-bus.ts) as the platform relies on it, run against
 * every implementation: memory.test.ts and redis-event-bus.test.ts (two instances = two nodes).
 *
 * What a subscriber may count on:
 *   - it gets every published event that matches its filter, once, and nothing else: no
 *     filter = everything; `taskIds` = only those tasks; `tenant` = only that tenant; both =
 *     both must hold; an empty `taskIds` set matches nothing;
 *   - batches arrive in publish order, so one task's events arrive in the order they were
 *     published (the feed relies on seq order to find gaps), also when a handler publishes;
 *   - each subscribe() is its own subscription (the same handler twice gets events twice);
 *     unsubscribe stops it, is idempotent, and leaves every other subscription alone;
 *   - a handler that throws, or is slow, costs the others nothing and keeps its subscription;
 *   - publish() never throws (it is fire-and-forget, after the store wrote the events);
 *   - close() ends delivery; unsubscribe and publish after it are harmless.
 * Delivery may be asynchronous (a networked bus), so every check waits for what must arrive,
 * and "nothing more arrives" is checked after a barrier (see below) plus a short grace.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../../src/domain/events.ts';
import type { EventBus, EventHandler, Subscription } from '../../../src/events/event-bus.ts';
import { until } from '../../helpers/until.ts';

export interface BusUnderTest {
  bus: EventBus;
  /** A second instance on the same backend (another process's view), when there is one. */
  peer?: EventBus;
  /** Frees the backend (the buses themselves are closed by the suite). */
  close?: () => Promise<void>;
}

/** How long "nothing else arrives" is watched after a barrier. */
const GRACE_MS = 30;
/** Barrier markers travel under their own tenant; recorders leave them out. */
const BARRIER_TENANT = 'barrier';

export function eventBusConformance(name: string, make: () => Promise<BusUnderTest>): void {
  describe(`EventBus conformance: ${name}`, () => {
    let sut: BusUnderTest;
    let bus: EventBus;
    let run: string;

    beforeEach(async () => {
      sut = await make();
      bus = sut.bus;
      run = randomUUID().slice(0, 8);
    });
    afterEach(async () => {
      await sut.bus.close();
      await sut.peer?.close();
      await sut.close?.();
    });

    const seqs = new Map<string, number>();
    /** The next event of a task (seq counts per task, as the store numbers them). */
    const ev = (task: string, tenant = 'acme', data: Record<string, unknown> = {}): TaskEvent => {
      const id = `${run}-${task}`;
      const seq = (seqs.get(id) ?? 0) + 1;
      seqs.set(id, seq);
      return { task_id: id, tenant, seq, type: 'log', ts: 1_700_000_000_000 + seq, data: { message: `${task} #${seq}`, ...data } };
    };
    const tid = (task: string): string => `${run}-${task}`;

    const isBarrier = (e: TaskEvent): boolean => e.tenant === BARRIER_TENANT;
    /** A subscription that records what it gets, batch by batch (barriers left out). */
    const record = (sub: Subscription, on: EventBus = bus) => {
      const batches: (readonly TaskEvent[])[] = [];
      const unsubscribe = on.subscribe(sub, (batch) => {
        const kept = batch.filter((e) => !isBarrier(e));
        if (kept.length > 0 || batch.length === 0) batches.push(kept);
      });
      return {
        batches,
        unsubscribe,
        events: () => batches.flat(),
        keys: () => batches.flat().map((e) => `${e.task_id.slice(run.length + 1)}:${e.seq}`),
      };
    };
    type Recorder = ReturnType<typeof record>;

    const arrived = (r: Recorder, n: number, what = `${n} events`) => until(what, async () => r.events().length >= n, 5000, 2);

    /**
     * Publishes a marker on its own task and waits until a fresh catch-all subscription has
     * it: what was published before has been handed to the bus's delivery by then. A short
     * grace follows for buses that deliver to each subscription on its own schedule.
     */
    const barrier = async (): Promise<void> => {
      const marker = ev(`barrier-${randomUUID().slice(0, 6)}`, BARRIER_TENANT);
      let seen = false;
      const unsubscribe = bus.subscribe({ taskIds: new Set([marker.task_id]) }, () => void (seen = true));
      bus.publish([marker]);
      await until('the barrier', async () => seen, 5000, 2);
      unsubscribe();
      await new Promise((r) => setTimeout(r, GRACE_MS));
    };

    it('delivers every event to a subscriber without a filter, in publish order, unchanged', async () => {
      const all = record({});
      const published = [ev('a'), ev('b', 'other'), ev('a')];
      bus.publish(published.slice(0, 2));
      bus.publish(published.slice(2));
      await arrived(all, 3);
      await barrier();
      expect(all.events()).toEqual(published);
      for (const b of all.batches) expect(b.length).toBeGreaterThan(0);
    });

    it('filters by task: only the named tasks, several at once', async () => {
      const one = record({ taskIds: new Set([tid('a')]) });
      const two = record({ taskIds: new Set([tid('a'), tid('c')]) });
      bus.publish([ev('a'), ev('b'), ev('c')]);
      bus.publish([ev('b'), ev('c', 'other')]);
      await arrived(two, 3);
      await barrier();
      expect(one.keys()).toEqual(['a:1']);
      expect(two.keys()).toEqual(['a:1', 'c:1', 'c:2']);
    });

    it('filters by tenant, and by tenant and task together (both must hold)', async () => {
      const acme = record({ tenant: 'acme' });
      const other = record({ tenant: 'other' });
      const wrongTenant = record({ taskIds: new Set([tid('a')]), tenant: 'other' });
      const both = record({ taskIds: new Set([tid('a'), tid('x')]), tenant: 'acme' });
      bus.publish([ev('a'), ev('x', 'other'), ev('b')]);
      await arrived(acme, 2);
      await arrived(other, 1);
      await arrived(both, 1);
      await barrier();
      expect(acme.keys()).toEqual(['a:1', 'b:1']);
      expect(other.keys()).toEqual(['x:1']);
      expect(both.keys()).toEqual(['a:1']);
      expect(wrongTenant.events()).toEqual([]);
    });

    it('matches nothing with an empty task set, and delivers nothing for an empty publish', async () => {
      const none = record({ taskIds: new Set() });
      const all = record({});
      bus.publish([]);
      bus.publish([ev('a')]);
      await arrived(all, 1);
      await barrier();
      expect(none.batches).toEqual([]);
      expect(all.keys()).toEqual(['a:1']); // the empty publish brought no (empty) batch
    });

    it("keeps each task's events in publish order for every kind of subscriber", async () => {
      const tasks = ['a', 'b', 'c', 'd'];
      const byTask = record({ taskIds: new Set(tasks.map(tid)) });
      const byTenant = record({ tenant: 'acme' });
      const all = record({});
      let published = 0;
      for (let round = 0; round < 50; round++) {
        // Batches of varying size that interleave the tasks.
        const batch = Array.from({ length: 1 + (round % 4) }, (_, i) => ev(tasks[(round + i) % tasks.length] as string));
        bus.publish(batch);
        published += batch.length;
      }
      for (const r of [byTask, byTenant, all]) {
        await arrived(r, published);
        for (const t of tasks) {
          const got = r.events().filter((e) => e.task_id === tid(t)).map((e) => e.seq);
          expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
        }
        expect(r.events()).toHaveLength(published);
      }
    });

    it('treats each subscribe() as its own subscription', async () => {
      const got: string[] = [];
      const handler: EventHandler = (batch) => void got.push(...batch.map((e) => e.data.message as string));
      const first = bus.subscribe({ taskIds: new Set([tid('a')]) }, handler);
      bus.subscribe({ taskIds: new Set([tid('a')]) }, handler);
      bus.publish([ev('a')]);
      await until('two deliveries', async () => got.length === 2, 5000, 2);
      first();
      bus.publish([ev('a')]);
      await until('one more delivery', async () => got.length === 3, 5000, 2);
      await barrier();
      expect(got).toEqual(['a #1', 'a #1', 'a #2']);
    });

    it('takes the filter when subscribing: changing the caller\'s set later changes nothing', async () => {
      const ids = new Set([tid('a')]);
      const r = record({ taskIds: ids });
      ids.delete(tid('a'));
      ids.add(tid('b'));
      bus.publish([ev('a'), ev('b')]);
      await arrived(r, 1);
      r.unsubscribe(); // must release what was subscribed, whatever the set holds now
      bus.publish([ev('a')]);
      await barrier();
      expect(r.keys()).toEqual(['a:1']);
    });

    it('stops delivery on unsubscribe, idempotently, leaving the others alone', async () => {
      const gone = record({ taskIds: new Set([tid('a')]) });
      const stays = record({ taskIds: new Set([tid('a')]) });
      const tenantGone = record({ tenant: 'acme' });
      bus.publish([ev('a')]);
      await arrived(gone, 1);
      await arrived(tenantGone, 1);
      gone.unsubscribe();
      gone.unsubscribe();
      tenantGone.unsubscribe();
      bus.publish([ev('a')]);
      await arrived(stays, 2);
      await barrier();
      expect(gone.keys()).toEqual(['a:1']);
      expect(tenantGone.keys()).toEqual(['a:1']);
      expect(stays.keys()).toEqual(['a:1', 'a:2']);
    });

    it('honours an unsubscribe made inside a handler for every later publish', async () => {
      const got: number[] = [];
      const unsubscribe = bus.subscribe({ taskIds: new Set([tid('a')]) }, (batch) => {
        got.push(...batch.map((e) => e.seq));
        unsubscribe();
      });
      const control = record({ taskIds: new Set([tid('a')]) });
      bus.publish([ev('a')]);
      await arrived(control, 1);
      bus.publish([ev('a')]);
      bus.publish([ev('a')]);
      await arrived(control, 3);
      await barrier();
      expect(got).toEqual([1]);
    });

    it('lets a subscription made inside a handler receive later publishes', async () => {
      let inner: Recorder | null = null;
      const outer = bus.subscribe({ taskIds: new Set([tid('a')]) }, () => {
        inner ??= record({ taskIds: new Set([tid('a')]) });
      });
      bus.publish([ev('a')]);
      await until('the inner subscription', async () => inner !== null, 5000, 2);
      outer();
      bus.publish([ev('a')]);
      await arrived(inner as unknown as Recorder, 1);
      await barrier();
      expect((inner as unknown as Recorder).keys()).toEqual(['a:2']);
    });

    it('delivers in publish order to everyone when a handler publishes', async () => {
      // The first subscriber reacts to a:1 by publishing b:1 (as a writer reacting to an event
      // would); every subscriber must still see a:1 before b:1.
      bus.subscribe({}, (batch) => {
        if (batch.some((e) => e.task_id === tid('a') && e.seq === 1)) bus.publish([ev('b')]);
      });
      const later = record({});
      const tenant = record({ tenant: 'acme' });
      bus.publish([ev('a')]);
      await arrived(later, 2);
      await arrived(tenant, 2);
      await barrier();
      expect(later.keys()).toEqual(['a:1', 'b:1']);
      expect(tenant.keys()).toEqual(['a:1', 'b:1']);
    });

    it('survives a throwing subscriber: the others get everything, it keeps its subscription, publish does not throw', async () => {
      let thrown = 0;
      bus.subscribe({}, () => {
        thrown++;
        throw new Error('subscriber bug');
      });
      const after = record({});
      const byTask = record({ taskIds: new Set([tid('a')]) });
      expect(() => bus.publish([ev('a')])).not.toThrow();
      expect(() => bus.publish([ev('a')])).not.toThrow();
      await arrived(after, 2);
      await arrived(byTask, 2);
      await until('both deliveries to the thrower', async () => thrown === 2, 5000, 2);
      expect(after.keys()).toEqual(['a:1', 'a:2']);
    });

    it('lets a slow subscriber cost the others nothing but time, and gives it everything in order', async () => {
      const slowGot: number[] = [];
      bus.subscribe({ taskIds: new Set([tid('a')]) }, (batch) => {
        const until = Date.now() + 5; // a handler that computes for a while
        while (Date.now() < until);
        slowGot.push(...batch.map((e) => e.seq));
      });
      // A handler that returns a promise that never settles (an async consumer stuck on I/O).
      bus.subscribe({ taskIds: new Set([tid('a')]) }, (() => new Promise(() => {})) as unknown as EventHandler);
      const fast = record({ taskIds: new Set([tid('a')]) });
      for (let i = 0; i < 20; i++) bus.publish([ev('a')]);
      await arrived(fast, 20);
      await until('the slow subscriber', async () => slowGot.length === 20, 5000, 2);
      expect(fast.events().map((e) => e.seq)).toEqual(slowGot);
      expect(slowGot).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('routes each of many task subscriptions its own events only', async () => {
      const subs = Array.from({ length: 300 }, (_, i) => record({ taskIds: new Set([tid(`t${i}`)]), tenant: 'acme' }));
      bus.publish(Array.from({ length: 300 }, (_, i) => ev(`t${i}`)));
      bus.publish(Array.from({ length: 300 }, (_, i) => ev(`t${299 - i}`)));
      for (const [i, s] of subs.entries()) {
        await arrived(s, 2);
        expect(s.keys()).toEqual([`t${i}:1`, `t${i}:2`]);
      }
    });

    it('ends delivery on close; publish and unsubscribe after it are harmless', async () => {
      const all = record({});
      bus.publish([ev('a')]);
      await arrived(all, 1);
      await bus.close();
      expect(() => bus.publish([ev('a')])).not.toThrow();
      expect(() => all.unsubscribe()).not.toThrow();
      await new Promise((r) => setTimeout(r, GRACE_MS));
      expect(all.keys()).toEqual(['a:1']);
    });

    it('carries events between two instances on the same backend', async (ctx) => {
      const peer = sut.peer;
      if (!peer) return ctx.skip(); // one process only (memory): there is no other instance
      const remote = record({ tenant: 'acme' }, peer);
      bus.publish([ev('a'), ev('b', 'other'), ev('a')]);
      await arrived(remote, 2);
      await barrier();
      expect(remote.keys()).toEqual(['a:1', 'a:2']);
    });

    it('gives subscribers on every instance the events published on every instance, each task in order, in one order everywhere', async (ctx) => {
      const peer = sut.peer;
      if (!peer) return ctx.skip();
      const here = record({});
      const there = record({}, peer);
      const thereByTask = record({ taskIds: new Set([tid('a'), tid('c')]) }, peer);
      const hereByTenant = record({ tenant: 'acme' });
      // Each node publishes its own tasks (as the process that stored them would), interleaved.
      let published = 0;
      for (let round = 0; round < 40; round++) {
        const mine = round % 2 === 0 ? ['a', 'b'] : ['a'];
        bus.publish(mine.map((t) => ev(t)));
        peer.publish([ev('c'), ev('d', round % 3 === 0 ? 'other' : 'acme')]);
        published += mine.length + 2;
      }
      await arrived(here, published);
      await arrived(there, published);
      await barrier();
      for (const r of [here, there, thereByTask]) {
        for (const t of ['a', 'b', 'c', 'd']) {
          const got = r.events().filter((e) => e.task_id === tid(t)).map((e) => e.seq);
          expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
        }
      }
      expect(there.keys()).toEqual(here.keys());
      expect(thereByTask.keys()).toEqual(here.keys().filter((k) => k.startsWith('a:') || k.startsWith('c:')));
      expect(hereByTenant.events()).toEqual(here.events().filter((e) => e.tenant === 'acme'));
    });

    it('lets an instance that closes leave the other running', async (ctx) => {
      const peer = sut.peer;
      if (!peer) return ctx.skip();
      const there = record({}, peer);
      await bus.close();
      peer.publish([ev('a')]);
      await arrived(there, 1);
      expect(there.keys()).toEqual(['a:1']);
    });
  });
}
