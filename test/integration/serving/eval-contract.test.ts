/**
 * `lakeray eval serve` end to end against a deployments server written in THIS test from the
 * spec's contract (issue 13: GET/PATCH /api/v1/deployments/{name}, …/predict, …/stats,
 * …/sessions + WebSocket stream), because the real deployments API is not on main yet. It
 * batches for real (max_batch_size, batch_timeout_ms), counts what it served, and can refuse
 * with 429 QUEUE_FULL, so every number of the report is checked against the server's own count.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/index.ts';
import type { EvalSummary } from '../../../src/serving/eval/summary.ts';

interface Settings {
  max_batch_size: number;
  batch_timeout_ms: number;
  enable_dynamic_batching: boolean;
}

const SIGNATURE = {
  inputs: [
    { name: 'x', dtype: 'float32', shape: ['batch', 28] },
    { name: 'h0', dtype: 'float32', shape: ['batch', 16] },
  ],
  outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
};

class ContractServer {
  readonly app: FastifyInstance = Fastify();
  settings: Settings = { max_batch_size: 16, batch_timeout_ms: 3, enable_dynamic_batching: true };
  patches: Partial<Settings>[] = [];
  served = 0;
  refused = 0;
  rows_total = 0;
  batches_total = 0;
  /** Refuse every n-th predict with 429 QUEUE_FULL (0: never). */
  refuseEvery = 0;
  sessions = new Map<string, { chunks: number; eof: boolean; deleted: boolean; ended: boolean }>();
  /** End each session (as a reaper would) after this many chunks (0: never). */
  endSessionsAfter = 0;
  private queue: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private predicts = 0;

  async start(): Promise<string> {
    await this.app.register(websocket);
    const base = '/api/v1/deployments/:name';
    this.app.addHook('preHandler', async (req, reply) => {
      if ((req.params as { name?: string }).name !== 'mnist')
        return reply.code(404).send({ error: { code: 'DEPLOYMENT_NOT_FOUND', message: 'No deployment with that name' } });
    });
    this.app.get(base, async () => ({ name: 'mnist', model: 'mnist_rnn', model_version: 3, status: 'ready', signature: SIGNATURE, state: [{ input: 'h0', output: 'hn' }], ...this.settings }));
    this.app.patch(base, async (req) => {
      const body = req.body as Partial<Settings>;
      this.patches.push(body);
      this.settings = { ...this.settings, ...body };
      return { name: 'mnist', model: 'mnist_rnn', ...this.settings };
    });
    this.app.get(`${base}/stats`, async () => ({
      rows_total: this.rows_total,
      batches_total: this.batches_total,
      mean_batch_size: this.batches_total ? this.rows_total / this.batches_total : 0,
    }));
    this.app.post(`${base}/predict`, async (req, reply) => {
      const inputs = (req.body as { inputs?: { x?: number[][]; h0?: number[][] } }).inputs;
      if (inputs?.x?.length !== 1 || inputs.x[0]?.length !== 28 || inputs.h0?.[0]?.length !== 16)
        return reply.code(400).send({ error: { code: 'INVALID_TENSOR', message: 'bad shape' } });
      if (this.refuseEvery && ++this.predicts % this.refuseEvery === 0) {
        this.refused++;
        return reply.code(429).header('retry-after', '1').send({ error: { code: 'QUEUE_FULL', message: 'full' } });
      }
      await new Promise<void>((done) => this.enqueue(done));
      this.served++;
      return { outputs: { logits: [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]] }, model: 'mnist_rnn', model_version: 3 };
    });
    this.app.post(`${base}/sessions`, async (req, reply) => {
      const id = `s${this.sessions.size + 1}`;
      this.sessions.set(id, { chunks: 0, eof: false, deleted: false, ended: false });
      reply.code(201);
      return { session_id: id, deployment: 'mnist', client_id: (req.body as { client_id: string }).client_id };
    });
    this.app.delete(`${base}/sessions/:id`, async (req, reply) => {
      this.sessions.get((req.params as { id: string }).id)!.deleted = true;
      return reply.code(204).send();
    });
    this.app.get(`${base}/sessions/:id/stream`, { websocket: true }, (socket, req) => {
      const s = this.sessions.get((req.params as { id: string }).id)!;
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary && data.toString() === 'EOF') {
          s.eof = true;
          socket.send(JSON.stringify({ event: 'eof', chunks: s.chunks }));
          socket.close(1000);
          return;
        }
        if (!isBinary || data.byteLength !== 28 * 4) {
          socket.send(JSON.stringify({ error: { code: 'INVALID_TENSOR', message: 'chunk of 28 float32 expected' } }));
          return;
        }
        if (this.endSessionsAfter && s.chunks === this.endSessionsAfter) {
          s.ended = true;
          socket.send(JSON.stringify({ event: 'ended', reason: 'reaped' }));
          socket.close(1000);
          return;
        }
        const seq = ++s.chunks;
        this.enqueue(() => socket.send(JSON.stringify({ seq, outputs: { logits: [[seq]] }, prediction: 0 })));
      });
    });
    return this.app.listen({ port: 0, host: '127.0.0.1' });
  }

  /** A real batcher: a batch closes when full or when its oldest request waited batch_timeout_ms. */
  private enqueue(done: () => void): void {
    this.queue.push(done);
    if (this.queue.length >= this.settings.max_batch_size) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.settings.batch_timeout_ms);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.settings.max_batch_size);
      this.rows_total += batch.length;
      this.batches_total += 1;
      setTimeout(() => batch.forEach((d) => d()), 2); // the "inference"
    }
  }
}

class Sink {
  text = '';
  isTTY = false;
  columns = 100;
  write(s: string) {
    this.text += s;
    return true;
  }
}

async function cli(args: string[], signals = new EventEmitter(), tty = false) {
  const stdout = new Sink();
  stdout.isTTY = tty;
  const stderr = new Sink();
  const code = await main(args, { stdout, stderr, env: {}, cwd: process.cwd(), signals });
  return { code, out: stdout.text, err: stderr.text };
}

function onlyReport(out: string): { dir: string; summary: EvalSummary; files: string[] } {
  const root = join(out, 'eval_results');
  const [id] = readdirSync(root);
  const dir = join(root, id!);
  return { dir, files: readdirSync(dir).sort(), summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as EvalSummary };
}

let server: ContractServer;
afterEach(async () => server?.app.close());

describe('lakeray eval serve against a contract server written in this test', () => {
  it('request mode + batch sweep: every config applied by PATCH and measured, the original restored, counts match the server', async () => {
    server = new ContractServer();
    const url = await server.start();
    const out = mkdtempSync(join(tmpdir(), 'eval-out-'));
    const r = await cli(['--url', url, 'eval', 'serve', 'mnist', '--users', '4', '--duration', '1.5', '--batch-test', '--batch-sizes', '1,8', '--batch-timeouts', '0,10', '--phase-duration', '1', '--out', out]);
    expect(r.err).toContain('phase 1/5 users');
    expect(r.code).toBe(0);
    expect(server.patches).toEqual([
      { max_batch_size: 1, batch_timeout_ms: 0, enable_dynamic_batching: true },
      { max_batch_size: 1, batch_timeout_ms: 10, enable_dynamic_batching: true },
      { max_batch_size: 8, batch_timeout_ms: 0, enable_dynamic_batching: true },
      { max_batch_size: 8, batch_timeout_ms: 10, enable_dynamic_batching: true },
      { max_batch_size: 16, batch_timeout_ms: 3, enable_dynamic_batching: true },
    ]);
    expect(server.settings).toEqual({ max_batch_size: 16, batch_timeout_ms: 3, enable_dynamic_batching: true });

    const { summary, files } = onlyReport(out);
    expect(files).toEqual(['README.md', 'batch_test_heatmaps.png', 'summary.json', 'user_test_charts.png']);
    expect(summary.phases.map((p) => [p.name, p.config.max_batch_size, p.config.batch_timeout_ms])).toEqual([
      ['users', 16, 3],
      ['batch 1x0ms', 1, 0],
      ['batch 1x10ms', 1, 10],
      ['batch 8x0ms', 8, 0],
      ['batch 8x10ms', 8, 10],
    ]);
    expect(summary.phases.reduce((s, p) => s + p.ok, 0)).toBe(server.served);
    for (const p of summary.phases) {
      expect(p.errors).toEqual({});
      expect(p.ok).toBeGreaterThan(0);
      expect(p.throughput_rps).toBeCloseTo(p.ok / p.duration_s, 1);
      expect(p.latency_ms.p50).toBeLessThanOrEqual(p.latency_ms.p95!);
      expect(p.latency_ms.p95).toBeLessThanOrEqual(p.latency_ms.p99!);
    }
    // Batch size 1 means batches of one; 8 with a 10 ms window gathers the 4 users together.
    expect(summary.phases[1]!.mean_batch_size).toBe(1);
    expect(summary.phases[4]!.mean_batch_size).toBeGreaterThan(2);
    expect(summary.restored_settings).toEqual({ max_batch_size: 16, batch_timeout_ms: 3, enable_dynamic_batching: true });
    expect(r.out).toContain(`report ${summary.id}`);
  }, 120_000);

  it('refusals are counted by their code and kept out of latency; a user honours Retry-After', async () => {
    server = new ContractServer();
    server.refuseEvery = 5;
    const url = await server.start();
    const out = mkdtempSync(join(tmpdir(), 'eval-out-'));
    const r = await cli(['--url', url, 'eval', 'serve', 'mnist', '--users', '3', '--duration', '2', '--out', out], new EventEmitter(), true);
    expect(r.code).toBe(0);
    // On a terminal: the progress bar, redrawn in place, with the phase and the counts so far.
    expect(r.out).toMatch(/\r\[#*-*\] +\d+% .* 1\/1 users · \d+ requests · \d+ errors/);
    const { summary, files } = onlyReport(out);
    expect(files).toEqual(['README.md', 'summary.json', 'user_test_charts.png']);
    const [users] = summary.phases;
    expect(users!.errors).toEqual({ QUEUE_FULL: server.refused });
    expect(users!.ok).toBe(server.served);
    expect(users!.requests).toBe(server.served + server.refused);
    // Each refusal parks its user for 1 s: three users refused at most ~2 times each in 2 s.
    expect(server.refused).toBeLessThanOrEqual(9);
  }, 120_000);

  it('Ctrl-C during the sweep restores the settings and still writes the partial report (exit 130)', async () => {
    server = new ContractServer();
    const url = await server.start();
    const out = mkdtempSync(join(tmpdir(), 'eval-out-'));
    const signals = new EventEmitter();
    const run = cli(['--url', url, 'eval', 'serve', 'mnist', '--users', '2', '--batch-only', '--batch-sizes', '1,4', '--batch-timeouts', '0', '--phase-duration', '30', '--out', out], signals);
    const until = Date.now() + 30_000;
    while (server.patches.length === 0 || server.served < 5) {
      if (Date.now() > until) throw new Error('the sweep never started');
      await new Promise((res) => setTimeout(res, 20));
    }
    signals.emit('SIGINT');
    const r = await run;
    expect(r.code).toBe(130);
    expect(server.patches.at(-1)).toEqual({ max_batch_size: 16, batch_timeout_ms: 3, enable_dynamic_batching: true });
    expect(server.settings.max_batch_size).toBe(16);
    const { summary } = onlyReport(out);
    expect(summary.interrupted).toBe(true);
    expect(summary.phases.map((p) => p.name)).toEqual(['batch 1x0ms']);
    expect(summary.phases[0]!.duration_s).toBeLessThan(30);
    // Requests in flight when Ctrl-C came are cut, not recorded: at most one per user.
    expect(server.served - summary.phases[0]!.ok).toBeGreaterThanOrEqual(0);
    expect(server.served - summary.phases[0]!.ok).toBeLessThanOrEqual(2);
  }, 120_000);

  it('session mode streams binary chunks over each session WebSocket, ends with EOF and deletes the session', async () => {
    server = new ContractServer();
    const url = await server.start();
    const out = mkdtempSync(join(tmpdir(), 'eval-out-'));
    const r = await cli(['--url', url, 'eval', 'serve', 'mnist', '--mode', 'session', '--users', '3', '--duration', '1.5', '--out', out]);
    expect(r.code).toBe(0);
    const { summary } = onlyReport(out);
    const [users] = summary.phases;
    expect(summary.mode).toBe('session');
    expect(server.sessions.size).toBe(3);
    const chunks = [...server.sessions.values()].reduce((s, x) => s + x.chunks, 0);
    expect(users!.ok).toBe(chunks);
    expect(users!.errors).toEqual({});
    expect([...server.sessions.values()].every((s) => s.eof && s.deleted)).toBe(true);
  }, 120_000);

  it('a session the server ends mid-stream is counted SESSION_ENDED and the user opens another', async () => {
    server = new ContractServer();
    server.endSessionsAfter = 5;
    const url = await server.start();
    const out = mkdtempSync(join(tmpdir(), 'eval-out-'));
    const r = await cli(['--url', url, 'eval', 'serve', 'mnist', '--mode', 'session', '--users', '2', '--duration', '1.5', '--out', out]);
    expect(r.code).toBe(0);
    const [users] = onlyReport(out).summary.phases;
    const sessions = [...server.sessions.values()];
    expect(sessions.length).toBeGreaterThan(2);
    expect(users!.errors).toEqual({ SESSION_ENDED: sessions.filter((s) => s.ended).length });
    expect(users!.ok).toBe(sessions.reduce((n, s) => n + s.chunks, 0));
  }, 120_000);

  it('an unknown deployment is the API error, and nothing is written', async () => {
    server = new ContractServer();
    const url = await server.start();
    const out = mkdtempSync(join(tmpdir(), 'eval-out-'));
    const r = await cli(['--url', url, 'eval', 'serve', 'nope', '--duration', '1', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error DEPLOYMENT_NOT_FOUND');
    expect(readdirSync(out)).toEqual([]);
    const bad = await cli(['--url', url, 'eval', 'serve', 'mnist', '--mode', 'stream', '--out', out]);
    expect(bad.code).toBe(2);
  }, 60_000);
});
