/**
 * Seed 004's client, literally: it submits a task with the seed's `POST /api/v1/tasks` body
 * shape ({name, input, script, output, params}, §3.1/§4.2), polls `GET /api/v1/tasks/{id}`
 * `while status in ("pending", "running")` (§3.2: "客户端通过轮询 GET /tasks/{id} 获取状态"),
 * then expects `status == "completed"` with the seed's `completed_at` and a `result` (the §4.2
 * example answer). The state names come from the seed's §3.2 diagram where the seed is on the
 * machine (the copy below stands on its own otherwise). The script is examples/hello (seconds,
 * no dataset): the seed's own MNIST bodies are seed004-snippets.test.ts.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { PACKAGE_ROOT, startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { seedText } from '../../helpers/seed-text.ts';

/** §3.2's diagram: `| pending | --submit--> | running | --done--> | completed |`, then `failed` below. */
const DIAGRAM = /\|\s*(\w+)\s*\|\s*-+>\s*\|\s*(\w+)\s*\|\s*-+>\s*\|\s*(\w+)\s*\|[\s\S]*?\|\s*(\w+)\s*\|/;
const COPY = { waiting: 'pending', running: 'running', done: 'completed', failed: 'failed' };

function seedStates(): typeof COPY {
  const seed = seedText('004');
  const section = seed?.split('### 3.2')[1]?.split('### 3.3')[0];
  if (section === undefined) return COPY; // the seed is not on this machine: the copy stands
  const m = DIAGRAM.exec(section);
  expect(m, "seed 004 §3.2's state diagram").not.toBeNull();
  const [, waiting, running, done, failed] = m as unknown as [string, string, string, string, string];
  const states = { waiting, running, done, failed };
  expect(states).toEqual(COPY); // the copy above is the seed's
  return states;
}

let server: RunningServer;
const post = (path: string, body: unknown) => api(server.url, 'POST', path, body);
const get = (path: string) => api(server.url, 'GET', path);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const dir = tempDir('lakeray-seed004-client-');
  const config = parseConfig(
    { state_dir: join(dir, 'state'), lake: { root: join(dir, 'lance_storage') }, script_roots: [join(PACKAGE_ROOT, 'examples')], executors: { local: { cpu: 1 } } },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe("seed 004's polling client", () => {
  it('polls while status in ("pending", "running"), then reads status "completed", completed_at and result', async () => {
    const S = seedStates();
    // The seed's body shape. The first task holds the only CPU for a second, so the second is
    // seen waiting: the client's loop meets the seed's first state, not only `running`.
    const body = (name: string, steps: number) => ({ name, input: '', script: 'hello/hello.py', output: '', params: { steps, delay_s: 0.1 } });
    const first = await post('/api/v1/tasks', body('hello_first', 10));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const created = await post('/api/v1/tasks', body('hello_seed_client', 3));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(Object.keys(created.body)).toEqual(expect.arrayContaining(['id', 'name', 'status', 'created_at']));

    // task = requests.post(...).json(); while task["status"] in ("pending", "running"): sleep; task = requests.get(...).json()
    let task = created.body;
    const seen = [task.status as string];
    const deadline = Date.now() + 60_000;
    while ([S.waiting, S.running].includes(task.status)) {
      expect(Date.now(), `still ${task.status}`).toBeLessThan(deadline);
      expect(task.completed_at).toBeNull();
      await sleep(100);
      const r = await get(`/api/v1/tasks/${created.body.id}`);
      expect(r.status).toBe(200);
      task = r.body;
      if (seen.at(-1) !== task.status) seen.push(task.status);
    }
    expect(seen.slice(0, -1)).toEqual([S.waiting, S.running]);
    expect(task.status).toBe(S.done);
    expect(task.completed_at).toEqual(expect.any(String));
    expect(new Date(task.completed_at).toISOString()).toBe(task.completed_at);
    expect(Date.parse(task.completed_at)).toBeGreaterThanOrEqual(Date.parse(task.created_at));
    expect(task.completed_at).toBe(task.finished_at);
    expect(task.result).toMatchObject({ words: 900, distinct: 8 });

    // The same names in the list filter and the state events.
    const listed = (await get(`/api/v1/tasks?status=${S.done}`)).body.tasks.map((t: { id: string }) => t.id);
    expect(listed).toEqual(expect.arrayContaining([first.body.id, created.body.id]));
    const states = (await get(`/api/v1/tasks/${created.body.id}/events?types=state`)).body.events.map((e: { data: { status: string } }) => e.data.status);
    expect(states).toEqual([S.waiting, S.running, S.done]);
  }, 90_000);

  it('a task that did not complete has completed_at null', async () => {
    const created = await post('/api/v1/tasks', { name: 'hello_cancelled', input: '', script: 'hello/hello.py', output: '', params: { steps: 50, delay_s: 0.2 } });
    expect(created.status).toBe(201);
    expect((await post(`/api/v1/tasks/${created.body.id}/cancel`, undefined)).status).toBe(200);
    let task = created.body;
    for (const end = Date.now() + 30_000; !['cancelled', 'failed', 'completed'].includes(task.status) && Date.now() < end; await sleep(100)) task = (await get(`/api/v1/tasks/${created.body.id}`)).body;
    expect(task.status).toBe('cancelled');
    expect(task.finished_at).toEqual(expect.any(String));
    expect(task.completed_at).toBeNull();
  }, 60_000);
});
