/**
 * The task routes on the real engine. The executor has one CPU and tasks take one, so the
 * first task runs (hold.mjs keeps it running) and the rest queue; occupy() fills it with
 * another tenant's task when a test wants everything it submits to stay queued.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validTask } from './helpers.ts';
import { CALLER, type Platform, setup } from './platform.ts';

let app: FastifyInstance;
let p: Platform;

beforeEach(async () => {
  p = await setup({ maxBatch: 5, cpu: 1 });
  app = p.app;
});
afterEach(() => p.close());

const allIds = async (): Promise<string[]> => (await p.engine.list(CALLER, { limit: 1000 })).tasks.map((t) => t.id);

const create = async (body: object = validTask, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/v1/tasks', payload: body, headers });

describe('POST /api/v1/tasks', () => {
  it('creates a task: 201, Location, ISO timestamps, queue position, no lease fields', async () => {
    await p.occupy();
    const res = await create({ ...validTask, name: 'mnist_cnn_v1', labels: { team: 'ml' } });
    expect(res.statusCode).toBe(201);
    const task = res.json();
    expect(res.headers.location).toBe(`/api/v1/tasks/${task.id}`);
    expect(task).toMatchObject({ name: 'mnist_cnn_v1', status: 'pending', script: 'hold.mjs', params: { epochs: 2 }, queue_position: 0, attempt: 0 });
    expect(task.resources).toEqual({ cpu: 1, memory_mb: 0, gpu: 0, custom: {} });
    expect(new Date(task.created_at).toISOString()).toBe(task.created_at);
    expect(task.started_at).toBeNull();
    expect(task).not.toHaveProperty('lease_owner');
    expect(task).not.toHaveProperty('lease_expires_at');
    expect(task).not.toHaveProperty('assignment');

    const second = (await create()).json();
    expect(second.queue_position).toBe(1);
  });

  it('replays an Idempotency-Key with 200 and the same task; a different body is 409', async () => {
    await p.occupy();
    const first = await create(validTask, { 'idempotency-key': 'k-1' });
    expect(first.statusCode).toBe(201);
    const again = await create(validTask, { 'idempotency-key': 'k-1' });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(again.json().idempotency_key).toBe('k-1');

    const conflict = await create({ ...validTask, priority: 5 }, { 'idempotency-key': 'k-1' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('IDEMPOTENCY_CONFLICT');

    const viaBody = await create({ ...validTask, idempotency_key: 'k-1' });
    expect(viaBody.statusCode).toBe(200);
    const mismatch = await create({ ...validTask, idempotency_key: 'k-2' }, { 'idempotency-key': 'k-1' });
    expect(mismatch.statusCode).toBe(400);
    expect(await allIds()).toEqual([first.json().id]);
    expect(await p.engine.events(CALLER, first.json().id, 0, 100)).toHaveLength(1); // only its `pending`
  });
});

describe('POST /api/v1/tasks/batch', () => {
  it('creates all tasks in order', async () => {
    await p.occupy();
    const res = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: [validTask, { ...validTask, name: 'b' }, { ...validTask, name: 'c' }] } });
    expect(res.statusCode).toBe(201);
    const { tasks } = res.json();
    expect(tasks.map((t: { queue_position: number }) => t.queue_position)).toEqual([0, 1, 2]);
    expect(tasks.map((t: { name: string }) => t.name)).toEqual(['hold', 'b', 'c']);
    expect((await allIds()).sort()).toEqual(tasks.map((t: { id: string }) => t.id).sort());
  });

  it('answers ids and statuses only with Prefer: return=minimal (RFC 7240)', async () => {
    await p.occupy();
    const batch = { tasks: [validTask, { ...validTask, name: 'b' }] };
    const res = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: batch, headers: { prefer: 'respond-async, return=minimal' } });
    expect(res.statusCode).toBe(201);
    expect(res.headers['preference-applied']).toBe('return=minimal');
    const { tasks } = res.json();
    expect(tasks).toHaveLength(2);
    for (const t of tasks) expect(t).toEqual({ id: expect.any(String), status: 'pending' });
    expect((await allIds()).sort()).toEqual(tasks.map((t: { id: string }) => t.id).sort());
    // Any other preference (or none) gets the full representation.
    const full = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: batch, headers: { prefer: 'return=representation' } });
    expect(full.headers['preference-applied']).toBeUndefined();
    expect(full.json().tasks[0]).toMatchObject({ script: 'hold.mjs', status: 'pending', queue_position: 2 });
  });

  it('is all or nothing: one bad task writes nothing', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: [validTask, { script: '../../etc/passwd.py' }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_REQUEST');
    expect(res.json().error.message).toMatch(/^tasks\[1\]\.script/);
    expect(await allIds()).toEqual([]);
    expect(p.probe.writes).toBe(0);
  });

  it('refuses more than maxBatch tasks, an empty batch and a batch-wide Idempotency-Key', async () => {
    const six = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: Array(6).fill(validTask) } });
    expect(six.statusCode).toBe(400);
    expect(six.json().error.message).toMatch(/body\.tasks/);
    const none = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: [] } });
    expect(none.statusCode).toBe(400);
    const keyed = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: [validTask] }, headers: { 'idempotency-key': 'x' } });
    expect(keyed.statusCode).toBe(400);
    expect(p.probe.writes).toBe(0);
  });
});

describe('GET /api/v1/tasks', () => {
  it('filters by status, name and executor and pages with a cursor', async () => {
    // The first takes the executor's only CPU (and its GPU): it runs, the others queue.
    const ids: string[] = [(await create({ ...validTask, name: 'even', resources: { cpu: 1, gpu: 1 } })).json().id];
    for (let i = 1; i < 5; i++) ids.push((await create({ ...validTask, name: i % 2 ? 'odd' : 'even' })).json().id);
    await p.until(ids[0] as string, (t) => t.status === 'running');

    const running = (await app.inject('/api/v1/tasks?status=running,cancelling')).json();
    expect(running.tasks.map((t: { id: string }) => t.id)).toEqual([ids[0]]);
    expect(running.tasks[0]).toMatchObject({ status: 'running', attempt: 1, gpus: ['0'], queue_position: null });
    expect(running.tasks[0]).not.toHaveProperty('lease_owner');

    expect((await app.inject('/api/v1/tasks?status=pending')).json().tasks.map((t: { id: string }) => t.id)).toEqual(ids.slice(1).reverse());
    expect((await app.inject('/api/v1/tasks?name=odd')).json().tasks).toHaveLength(2);
    expect((await app.inject('/api/v1/tasks?executor=local')).json().tasks).toHaveLength(5);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { tasks: { id: string }[]; next_cursor: string | null } = (
        await app.inject(`/api/v1/tasks?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      expect(page.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse()); // newest first (docs/api.md)
  });

  it('looks up the queue positions of a page or a batch in one call', async () => {
    await p.occupy();
    for (let i = 0; i < 4; i++) await create();
    const calls = () => p.probe.calls.queuePositions ?? 0;
    let before = calls();
    const page = (await app.inject('/api/v1/tasks')).json();
    expect(page.tasks.map((t: { queue_position: number }) => t.queue_position).sort()).toEqual([0, 1, 2, 3]);
    expect(calls() - before).toBe(1);

    before = calls();
    const batch = await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: [validTask, validTask, validTask] } });
    expect(batch.json().tasks.map((t: { queue_position: number }) => t.queue_position)).toEqual([4, 5, 6]);
    expect(calls() - before).toBe(1);
  });

  it('defaults to 50 and refuses a limit over 1000', async () => {
    expect((await app.inject('/api/v1/tasks')).json()).toEqual({ tasks: [], next_cursor: null });
    expect((await app.inject('/api/v1/tasks?limit=1001')).statusCode).toBe(400);
    expect((await app.inject('/api/v1/tasks?limit=1000')).statusCode).toBe(200);
  });
});

describe('get, cancel, delete', () => {
  it('gets, cancels and deletes a task', async () => {
    await p.occupy();
    const id = (await create()).json().id;
    const got = await app.inject(`/api/v1/tasks/${id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json().id).toBe(id);

    const active = await app.inject({ method: 'DELETE', url: `/api/v1/tasks/${id}` });
    expect(active.statusCode).toBe(409);
    expect(active.json().error.code).toBe('TASK_ACTIVE');

    const cancelled = await app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/cancel` });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id, status: 'cancelled', queue_position: null });
    const twice = await app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/cancel` });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('TASK_NOT_CANCELLABLE');

    const deleted = await app.inject({ method: 'DELETE', url: `/api/v1/tasks/${id}` });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect((await app.inject(`/api/v1/tasks/${id}`)).statusCode).toBe(404);
    await expect(p.engine.events(CALLER, id, 0, 10)).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });

  it('moves a running task to cancelling', async () => {
    const id = (await create()).json().id;
    await p.until(id, (t) => t.status === 'running');
    const res = await app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/cancel`, headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(res.json().status).toBe('cancelling');
    // …and cancelled once its process is gone.
    expect((await p.until(id, (t) => t.status !== 'cancelling')).status).toBe('cancelled');
  });

  it("hides another tenant's tasks", async () => {
    const [other] = await p.engine.submit({ tenant: 'other' }, [{ script: 'hold.mjs' }]);
    const id = other?.task.id as string;
    for (const req of [
      { method: 'GET' as const, url: `/api/v1/tasks/${id}` },
      { method: 'POST' as const, url: `/api/v1/tasks/${id}/cancel` },
      { method: 'DELETE' as const, url: `/api/v1/tasks/${id}` },
      { method: 'GET' as const, url: `/api/v1/tasks/${id}/events` },
      { method: 'GET' as const, url: `/api/v1/tasks/${id}/logs` },
    ]) {
      const res = await app.inject(req);
      expect(res.statusCode, req.url).toBe(404);
      expect(res.json().error.code).toBe('TASK_NOT_FOUND');
    }
    expect((await app.inject('/api/v1/tasks')).json().tasks).toEqual([]);
    expect((await p.engine.get({ tenant: 'other' }, id)).status).not.toMatch(/cancel/); // the cancel did nothing
  });
});

describe('logs and event pages', () => {
  it('reads log lines as JSON (with after) and as text', async () => {
    const task = await p.startRemote(); // seq 1 queued, 2 running
    const id = task.id;
    await task.emit('log', { stream: 'stdout', message: 'epoch 1' });
    await task.emit('progress', { fraction: 0.5 });
    await task.emit('log', { stream: 'stderr', message: 'warning: slow\n' });

    const all = (await app.inject(`/api/v1/tasks/${id}/logs`)).json();
    expect(all.lines.map((l: { message: string }) => l.message)).toEqual(['epoch 1', 'warning: slow\n']);
    expect(all.lines[0]).toMatchObject({ seq: 3, stream: 'stdout' });
    expect(new Date(all.lines[0].ts).toISOString()).toBe(all.lines[0].ts);
    expect(all.next_seq).toBe(5);

    const later = (await app.inject(`/api/v1/tasks/${id}/logs?after=3`)).json();
    expect(later.lines.map((l: { seq: number }) => l.seq)).toEqual([5]);
    expect((await app.inject(`/api/v1/tasks/${id}/logs?after=5`)).json()).toEqual({ lines: [], next_seq: 5 });

    const text = await app.inject(`/api/v1/tasks/${id}/logs?format=text`);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.body).toBe('epoch 1\nwarning: slow\n');
    expect(text.headers['x-lakeray-next-seq']).toBe('5');
    expect((await app.inject(`/api/v1/tasks/${id}/logs?format=xml`)).statusCode).toBe(400);
  });

  it('pages events as JSON with after, limit and types', async () => {
    const task = await p.startRemote(); // seq 1 queued, 2 running
    const id = task.id;
    await task.emit('progress', { fraction: 0.1 });
    await task.emit('metric', { name: 'loss', value: 1 });
    const page = (await app.inject(`/api/v1/tasks/${id}/events?after=1&limit=2`)).json();
    expect(page.events.map((e: { seq: number }) => e.seq)).toEqual([2, 3]);
    expect(page.next_seq).toBe(3);
    expect(page.events[0]).toMatchObject({ task_id: id, type: 'state', data: { status: 'running' } });
    const typed = (await app.inject(`/api/v1/tasks/${id}/events?types=metric,progress`)).json();
    expect(typed.events.map((e: { type: string }) => e.type)).toEqual(['progress', 'metric']);
    expect((await app.inject(`/api/v1/tasks/${id}/events?types=bogus`)).statusCode).toBe(400);
  });
});
