/**
 * Streaming sessions end to end on a real server: the GRU fixture (one image row per chunk,
 * state h0 ← hn) deployed from the lake with its state binding in the model's params, 8
 * sessions streaming 28 chunks each over WebSocket at once. Each session's running logits
 * equal onnxruntime-node run in this process carrying the state; chunks of different sessions
 * are batched together; a session goes on after the replica that served it is drained away.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');
let server: RunningServer;
let session: ort.InferenceSession;

beforeAll(async () => {
  const dir = tempDir('lakeray-sessions-');
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [dir], data_roots: [dir], lake: { root: join(dir, 'lake') }, executors: { local: { cpu: 4, kill_grace_ms: 1500 } } },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
  const bytes = readFileSync(join(FIXTURES, 'gru_rows.onnx'));
  await createLakeClient({ apiUrl: server.url }).writeModel({ name: 'gru', files: { 'model.onnx': bytes }, params: { serving: { state: [{ input: 'h0', output: 'hn' }], chunk_input: 'x', chunks: 28 } } });
  session = await ort.InferenceSession.create(bytes);
}, 90_000);

afterAll(async () => {
  await server?.close();
}, 60_000);

const rowsOf = (seed: number): Float32Array[] => Array.from({ length: 28 }, (_, r) => Float32Array.from({ length: 28 }, (_, c) => ((r * 28 + c) * (seed + 3)) % 11 / 10));

/** What the model answers after each row, carrying hn → h0 (zeros first), in this process. */
const reference = async (rows: Float32Array[]): Promise<number[][]> => {
  let h: Float32Array = new Float32Array(64);
  const out: number[][] = [];
  for (const x of rows) {
    const r = await session.run({ x: new ort.Tensor('float32', x, [1, 28]), h0: new ort.Tensor('float32', h, [1, 64]) });
    h = r.hn!.data as Float32Array;
    out.push(Array.from(r.logits!.data as Float32Array));
  }
  return out;
};

/**
 * Stream rows over the session's WebSocket (binary chunks), then EOF; every message. With
 * `between`, each row waits for the previous row's answer (nothing in flight while it runs).
 */
const stream = (id: string, rows: Float32Array[], between?: (i: number) => Promise<void>): Promise<Record<string, unknown>[]> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/deployments/gru/sessions/${id}/stream`);
    const got: Record<string, unknown>[] = [];
    ws.on('error', reject);
    let answered = 0;
    let wake: (() => void) | null = null;
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Record<string, unknown>;
      got.push(msg);
      answered++;
      wake?.();
      if (msg.event === 'eof') ws.close();
    });
    ws.on('close', () => resolve(got));
    ws.on('open', async () => {
      for (let i = 0; i < rows.length; i++) {
        if (between) {
          while (answered < i) await new Promise<void>((r) => (wake = r));
          await between(i);
        }
        ws.send(Buffer.from(rows[i]!.buffer));
      }
      ws.send('EOF');
    });
  });

it('8 sessions stream 28 rows each: outputs equal in-process runs with carried state, in order, batched across sessions', async () => {
  const created = await api(server.url, 'POST', '/api/v1/deployments', { name: 'gru', model: 'gru', max_batch_size: 16, batch_timeout_ms: 3 });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.state).toEqual([{ input: 'h0', output: 'hn' }]);
  await until('gru ready', async () => (await api(server.url, 'GET', '/api/v1/deployments/gru')).body.status === 'ready' || undefined, 90_000, 100);

  const seeds = [0, 1, 2, 3, 4, 5, 6, 7];
  const ids = await Promise.all(seeds.map(async (s) => (await api(server.url, 'POST', '/api/v1/deployments/gru/sessions', { client_id: `user_${s}` })).body.session_id as string));
  const results = await Promise.all(seeds.map((s, i) => stream(ids[i]!, rowsOf(s))));
  for (const [i, s] of seeds.entries()) {
    const want = await reference(rowsOf(s));
    const msgs = results[i]!;
    expect(msgs.at(-1)).toMatchObject({ event: 'eof', chunks: 28 });
    const chunks = msgs.filter((m) => m.seq !== undefined);
    expect(chunks.map((m) => m.seq)).toEqual(Array.from({ length: 28 }, (_, k) => k + 1));
    chunks.forEach((m, k) => {
      const logits = (m.outputs as { logits: number[][] }).logits[0]!;
      logits.forEach((v, j) => expect(v).toBeCloseTo(want[k]![j]!, 4));
      expect(m.outputs).not.toHaveProperty('hn');
    });
  }
  const stats = (await api(server.url, 'GET', '/api/v1/deployments/gru/stats')).body;
  expect(stats.rows_total).toBe(8 * 28);
  expect(stats.batches_total).toBeLessThan(8 * 28);
  expect(stats.mean_batch_size).toBeGreaterThan(1);
}, 180_000);

it('a session goes on, state intact, after the replica that served it is drained away (or killed)', async () => {
  const rows = rowsOf(9);
  const want = await reference(rows);
  const id = (await api(server.url, 'POST', '/api/v1/deployments/gru/sessions', { client_id: 'mover' })).body.session_id as string;
  const deployment = async () => (await api(server.url, 'GET', '/api/v1/deployments/gru')).body as { replica_status: { id: string; state: string; task_id: string }[] };
  const first = (await deployment()).replica_status[0]!;
  let how = '';
  const msgs = await stream(id, rows, async (i) => {
    if (i === 10) {
      expect((await api(server.url, 'PATCH', '/api/v1/deployments/gru', { replicas: { min: 2, max: 2 } })).status).toBe(200);
      await until('two ready', async () => (await deployment()).replica_status.filter((r) => r.state === 'ready').length === 2 || undefined, 90_000, 100);
    }
    if (i === 12) {
      // Back to one: the scaler drains one of the two (the least loaded).
      expect((await api(server.url, 'PATCH', '/api/v1/deployments/gru', { replicas: { min: 1, max: 1 } })).status).toBe(200);
      await until('one left', async () => (await deployment()).replica_status.length === 1 || undefined, 90_000, 100);
    }
    if (i === 18) {
      const left = (await deployment()).replica_status;
      if (left.some((r) => r.id === first.id)) {
        // The other one was drained: the first replica goes now, by kill -9.
        const placement = (await server.engine.get({ tenant: 'default' }, first.task_id)).assignment?.placement;
        process.kill(Number(placement?.pid), 'SIGKILL');
        how = 'killed';
        await until('replaced', async () => (await deployment()).replica_status.some((r) => r.state === 'ready' && r.id !== first.id) || undefined, 90_000, 100);
      } else how = 'drained';
    }
  });
  expect(['drained', 'killed']).toContain(how);
  const chunks = msgs.filter((m) => m.seq !== undefined);
  expect(chunks, JSON.stringify(msgs.filter((m) => m.seq === undefined))).toHaveLength(28);
  chunks.forEach((m, k) => (m.outputs as { logits: number[][] }).logits[0]!.forEach((v, j) => expect(v).toBeCloseTo(want[k]![j]!, 4)));
  expect((await deployment()).replica_status.every((r) => r.id !== first.id)).toBe(true);
}, 240_000);
