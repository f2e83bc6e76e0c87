/**
 * The audit's malformed requests (issue 11 §2) against a real server (startServer: the engine,
 * SQLite, LanceDB, the Python harness): every one is a 4xx whose code is in the error
 * registry with that status, with a message, answered promptly; nothing is created by any of
 * them; and the server keeps serving. The rows are in malformed-cases.ts; the requests that
 * need a raw socket or a WebSocket are here.
 */
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseConfig } from '../../../src/config/load.ts';
import { ERRORS, isErrorCode } from '../../../src/domain/errors.ts';
import arrow, { type Table } from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { runCli } from '../cli/harness.ts';
import { until } from '../../helpers/until.ts';
import { FIXTURE_SCRIPTS, fakeModel } from '../video/helpers.ts';
import { type Case, CASES } from './malformed-cases.ts';

const ANSWER_WITHIN_MS = 10_000;
let server: RunningServer;
let doneTask: string;
let tasksBefore: number;

const ARROW = 'application/vnd.apache.arrow.stream';
const putArrow = async (path: string, table: Table) => {
  const r = await request(`${server.url}${path}`, { method: 'PUT', body: Buffer.from(arrow.tableToIPC(table, 'stream')), headers: { 'content-type': ARROW } });
  expect(r.statusCode, await r.body.text()).toBe(200);
};

const taskCount = async (): Promise<number> => (await api(server.url, 'GET', '/api/v1/tasks?limit=1000')).body.tasks.length;

beforeAll(async () => {
  const dir = tempDir('lakeray-malformed-');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [FIXTURE_SCRIPTS],
      data_roots: [join(dir, 'data')],
      lake: { root: join(dir, 'lake') },
      server: { max_batch: 5 },
      executors: { local: { cpu: 4 } },
      generation: { models: [fakeModel('fake')], uploads: { max_bytes: 64 * 1024 } },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  await putArrow('/api/v1/datasets/digits/arrow', new arrow.Table({ label: arrow.vectorFromArray([1n, 3n, 3n, 4n], new arrow.Int64()), split: arrow.vectorFromArray(['train', 'a;b', 'test', 'x)'], new arrow.Utf8()) }));
  const schema = new arrow.Schema([new arrow.Field('file', new arrow.Utf8()), new arrow.Field('data', new arrow.Binary())]);
  const files = new arrow.Table({ file: arrow.vectorFromArray(['model.onnx'], new arrow.Utf8()), data: arrow.vectorFromArray([new Uint8Array(64)], new arrow.Binary()) });
  await putArrow('/api/v1/models/clf/arrow', new arrow.Table(schema, files.batches.map((b) => new arrow.RecordBatch(schema, b.data))));
  const submitted = await api(server.url, 'POST', '/api/v1/tasks', { script: 'ok.py' });
  expect(submitted.status).toBe(201);
  doneTask = submitted.body.id;
  await until('the fixture task to finish', async () => (await api(server.url, 'GET', `/api/v1/tasks/${doneTask}`)).body.status === 'completed', 30_000);
  tasksBefore = await taskCount();
});

afterAll(async () => {
  await server?.close();
});

const fill = (path: string): string => path.replaceAll('{task}', doneTask).replaceAll('{dataset}', 'digits').replaceAll('{model}', 'clf');

/** The answer every malformed request must get: a 4xx in the registry's shape. */
function expectRegisteredError(status: number, text: string, what: string): { code: string; message: string } {
  expect(status, `${what}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  const code = String(body.error?.code);
  expect(isErrorCode(code), `${what}: ${code} is not in the registry`).toBe(true);
  expect(ERRORS[code as keyof typeof ERRORS].status, `${what}: ${code} has another status in the registry`).toBe(status);
  expect(typeof body.error?.message === 'string' && body.error.message.length > 0, `${what}: no message`).toBe(true);
  return { code, message: String(body.error?.message) };
}

async function send(c: Case): Promise<{ status: number; text: string }> {
  const r = await request(`${server.url}${fill(c.path)}`, {
    method: c.method as 'GET',
    headers: c.headers,
    body: c.body,
    headersTimeout: ANSWER_WITHIN_MS,
    bodyTimeout: ANSWER_WITHIN_MS,
  });
  return { status: r.statusCode, text: await r.body.text() };
}

describe('malformed requests', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { status, text } = await send(c);
    const { code, message } = expectRegisteredError(status, text, c.name);
    expect({ status, code }, message).toEqual({ status: c.status, code: c.code });
    if (c.says) expect(message).toContain(c.says);
  });

  it('a request line the HTTP parser refuses gets a JSON 400', async () => {
    for (const raw of ['GARBAGE\r\n\r\n', 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 'POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n']) {
      const answer = await rawHttp(raw);
      const [head, body] = answer.split('\r\n\r\n', 2) as [string, string];
      const status = Number(head.split(' ')[1]);
      expectRegisteredError(status, body, JSON.stringify(raw));
    }
  });

  it('a WebSocket upgrade with a bad handshake gets a 4xx in the registry shape', async () => {
    const { port } = new URL(server.url);
    const bad = [
      { 'sec-websocket-version': '13' }, // no key
      { 'sec-websocket-version': '13', 'sec-websocket-key': 'short' },
      { 'sec-websocket-version': '7', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    ];
    for (const headers of bad) {
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
      const answer = await rawHttp(`GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${lines.join('\r\n')}\r\n\r\n`);
      const [head, body] = answer.split('\r\n\r\n', 2) as [string, string];
      expectRegisteredError(Number(head.split(' ')[1]), body, JSON.stringify(headers));
    }
  });

  it('bad WebSocket messages get error frames with registered codes, and the socket stays open', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/ws`);
    await new Promise((res, rej) => ws.once('open', res).once('error', rej));
    const replies: { type: string; error?: { code: string; message: string } }[] = [];
    ws.on('message', (data) => replies.push(JSON.parse(String(data))));
    const messages = ['not json', '[]', '{"op":"explode"}', '{"op":"subscribe","tasks":[]}', `{"op":"subscribe","tasks":["t_nope"],"after":{"t_nope":-1}}`, `{"op":"subscribe","tasks":${'['.repeat(3000)}${']'.repeat(3000)}}`];
    for (const m of messages) ws.send(m);
    ws.send('{"op":"ping"}');
    await until('the pong after the bad messages', async () => replies.some((r) => r.type === 'pong'), ANSWER_WITHIN_MS);
    const errors = replies.filter((r) => r.type === 'error');
    expect(errors).toHaveLength(messages.length);
    for (const e of errors) expect(isErrorCode(e.error?.code ?? '') && (e.error?.message ?? '').length > 0, JSON.stringify(e)).toBe(true);
    ws.close();
  });

  it('created nothing, and the server still serves', async () => {
    expect(await taskCount()).toBe(tasksBefore);
    const health = await api(server.url, 'GET', '/health');
    expect(health.status).toBe(200);
    const ok = await api(server.url, 'POST', '/api/v1/tasks', { script: 'ok.py', params: { a: 1 } });
    expect(ok.status).toBe(201);
  });
});

describe('well-formed edge cases are accepted', () => {
  const submit = (body: unknown) => api(server.url, 'POST', '/api/v1/tasks', body);
  const nestedParams = (depth: number): Record<string, unknown> => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = { a: v };
    return v as Record<string, unknown>;
  };

  it('task names in any script, with accents: héllo, 日本語, Ünïcode-1.2, देवनागरी', async () => {
    for (const name of ['héllo', 'he\u0301llo', '日本語', 'Ünïcode-1.2', 'देवनागरी', 'team/job:1@v2']) {
      const r = await submit({ script: 'ok.py', name });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.name).toBe(name);
      const listed = await api(server.url, 'GET', `/api/v1/tasks?name=${encodeURIComponent(name)}`);
      expect(listed.body.tasks.map((t: { id: string }) => t.id)).toContain(r.body.id);
    }
  });

  it('params nested exactly to the limit (the body 64 levels deep), and run by the Python harness', async () => {
    const r = await submit({ script: 'ok.py', params: nestedParams(63) }); // body {} + 63 levels of params
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const done = await until('the deep-params task', async () => {
      const t = (await api(server.url, 'GET', `/api/v1/tasks/${r.body.id}`)).body;
      return ['completed', 'failed'].includes(t.status) ? t : null;
    }, 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.result.params).toEqual(nestedParams(63));
    const over = await submit({ script: 'ok.py', params: nestedParams(64) });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('server.max_json_depth = 64');
  });

  it('a filter whose string holds ; ) and -- reads exactly the rows it names', async () => {
    for (const [filter, labels] of [["split = 'a;b'", [3]], ["split = 'x)' OR split = 'a;b'", [3, 4]], ["split = '--' OR label = 1", [1]]] as const) {
      const r = await api(server.url, 'GET', `/api/v1/datasets/digits/rows?filter=${encodeURIComponent(filter)}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.rows.map((row: { label: number }) => Number(row.label)).sort()).toEqual(labels);
      expect(r.body.total).toBe(labels.length);
    }
  });

  it("lakeray datasets rows --filter shows the server's message and fails", async () => {
    const bad = await runCli(['--url', server.url, 'datasets', 'rows', 'digits', '--filter', 'label = 3; DROP TABLE x']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('INVALID_REQUEST');
    expect(bad.err).toContain('invalid filter "label = 3; DROP TABLE x": ";" at character 10: a filter is one expression');
    expect(bad.out).toBe('');
    const good = await runCli(['--url', server.url, 'datasets', 'rows', 'digits', '--filter', 'label = 3']);
    expect(good.code, good.err).toBe(0);
    expect(good.out).toContain('of 2 (version 1)');
  });
});

/** Sends raw bytes and reads until the server closes or a response has arrived. */
function rawHttp(raw: string): Promise<string> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms to ${JSON.stringify(raw)}: ${text}`));
    }, ANSWER_WITHIN_MS);
    socket.on('data', (d) => {
      text += d;
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text.slice(0, end));
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) socket.end();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
