/**
 * The TaskStore conformance suite. Every TaskStore implementation runs it unchanged:
 *
 *   taskStoreConformance('sqlite', () => SqliteTaskStore.open(path));
 *
 * It talks to the store only through the TaskStore interface. `open` is called before each
 * test and the store is closed after it; tests use their own tenants, executors and ids, so
 * `open` may return a fresh database or one shared with earlier tests.
 */
import { describe } from 'vitest';
import { deploymentConformance } from './conformance-deployments.ts';
import { lakePinConformance } from './conformance-lake-pins.ts';
import { webhookOutboxConformance } from './conformance-webhooks.ts';
import { eventConformance } from './conformance-events.ts';
import { keyConformance } from './conformance-keys.ts';
import { queryConformance } from './conformance-queries.ts';
import { tenantConformance } from './conformance-tenants.ts';
import { taskConformance } from './conformance-tasks.ts';
import { transitionConformance } from './conformance-transitions.ts';
import type { OpenStore } from './fixtures.ts';

export { makeTask, newTask, seed, start, T0, uniq } from './fixtures.ts';
export type { OpenStore } from './fixtures.ts';

export function taskStoreConformance(name: string, open: OpenStore): void {
  describe(`TaskStore conformance: ${name}`, () => {
    // One describe per part: each part's useStore() hooks then open one store per test.
    describe('webhook outbox', () => webhookOutboxConformance(open));
    describe('lake pins', () => lakePinConformance(open));
    describe('tasks', () => taskConformance(open));
    describe('transitions', () => transitionConformance(open));
    describe('events', () => eventConformance(open));
    describe('queries', () => queryConformance(open));
    describe('deployments', () => deploymentConformance(open));
    describe('tenants', () => tenantConformance(open));
    describe('keys and audit', () => keyConformance(open));
  });
}
