/**
 * The session routes on the real app: REST through inject(), the stream through a real
 * WebSocket client (ws) on a listening server. The model is the in-test stateful one
 * (y = running sum of the chunks), so every answer is checked exactly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SessionManagerOptions } from '../../../src/serving/sessions.ts';
import { waitFor } from '../api/helpers.ts';
import { type SessionsApp, startSessionsApp } from './sessions-app.ts';

let s: SessionsApp;
const open: WebSocket[] = [];
async function start(opts: Partial<SessionManagerOptions> = {}): Promise<void> {
  s = await startSessionsApp(opts);
}
afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  await s.close();
});

interface Stream {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
}

async function stream(path: string): Promise<Stream> {
  const ws = new WebSocket(`${s.base.replace('http', 'ws')}${path}`);
  open.push(ws);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, messages, closed };
}

const f32 = (...v: number[]) => Buffer.from(Float32Array.from(v).buffer);

async function createSession(body: Record<string, unknown> = { client_id: 'user_001' }, name = 'seed') {
  return s.p.app.inject({ method: 'POST', url: `/api/v1/deployments/${name}/sessions`, payload: body });
}

describe('session routes', () => {
  it('creates, reports and deletes a session; refuses bad input with clear codes', async () => {
    await start({ maxSessions: 2 });
    const created = await createSession({ client_id: 'user_001', routing_key: 'English -> Chinese' });
    expect(created.statusCode).toBe(201);
    const view = created.json();
    expect(view).toMatchObject({ deployment: 'seed', client_id: 'user_001', routing_key: 'English -> Chinese', gpu: '0' });
    const id = view.session_id as string;

    const status = await s.p.app.inject({ url: `/api/v1/deployments/seed/sessions/${id}` });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ session_id: id, status: 'open', position: null, pending_chunks: 0, chunks_done: 0 });

    expect((await createSession({})).json().error.code).toBe('INVALID_REQUEST');
    expect((await createSession({ client_id: 'u', routing_key: 'English -> Klingon' })).json().error).toMatchObject({ code: 'INVALID_REQUEST' });
    const missing = await createSession({ client_id: 'u' }, 'nope');
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'DEPLOYMENT_NOT_FOUND']);
    expect((await createSession()).statusCode).toBe(201);
    const full = await createSession();
    expect([full.statusCode, full.json().error.code]).toEqual([429, 'TOO_MANY_SESSIONS']);

    const del = await s.p.app.inject({ method: 'DELETE', url: `/api/v1/deployments/seed/sessions/${id}` });
    expect(del.json()).toEqual({ session_id: id, chunks: 0 });
    const gone = await s.p.app.inject({ url: `/api/v1/deployments/seed/sessions/${id}` });
    expect([gone.statusCode, gone.json().error.code]).toEqual([404, 'SESSION_NOT_FOUND']);
    const plain = await s.p.app.inject({ url: `/api/v1/deployments/seed/sessions/${id}/stream` });
    expect([plain.statusCode, plain.json().error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('streams binary and JSON chunks in order, survives a bad chunk, and ends on EOF', async () => {
    await start();
    const id = (await createSession()).json().session_id as string;
    const c = await stream(`/api/v1/deployments/seed/sessions/${id}/stream`);
    c.ws.send(f32(1, 2));
    c.ws.send(JSON.stringify({ inputs: [[3, 4]] }));
    c.ws.send(Buffer.from([1, 2, 3])); // not whole float32 rows
    c.ws.send('{"inputs": {"h": [[0, 0]]}}'); // the state is the session's
    c.ws.send('not json');
    c.ws.send(JSON.stringify({ inputs: { x: [5, 0.5] } })); // one row without its batch dim
    c.ws.send('EOF');
    const end = await c.closed;
    expect(end.code).toBe(1000);
    expect(c.messages[0]).toEqual({ seq: 1, outputs: { y: [[1, 2]] }, prediction: 1 });
    expect(c.messages[1]).toEqual({ seq: 2, outputs: { y: [[4, 6]] }, prediction: 1 });
    expect((c.messages[2]?.error as { code: string }).code).toBe('INVALID_TENSOR');
    expect((c.messages[2]?.error as { message: string }).message).toMatch(/not whole rows of 2 float32/);
    expect((c.messages[3]?.error as { message: string }).message).toMatch(/carried state/);
    expect((c.messages[4]?.error as { code: string }).code).toBe('INVALID_TENSOR');
    expect(c.messages[5]).toMatchObject({ outputs: { y: [[9, 6.5]] }, prediction: 0 });
    expect(c.messages[6]).toEqual({ event: 'eof', chunks: 3 });
    expect(c.messages).toHaveLength(7);
    expect(s.sessions.has('default', id)).toBe(false); // EOF frees it
  });

  it('keeps the session when the socket closes without EOF: a new socket goes on from its state', async () => {
    await start();
    const id = (await createSession()).json().session_id as string;
    const first = await stream(`/api/v1/deployments/seed/sessions/${id}/stream`);
    first.ws.send(f32(1, 1));
    await waitFor(() => first.messages.length === 1);
    first.ws.close();
    await first.closed;
    const second = await stream(`/api/v1/deployments/seed/sessions/${id}/stream`);
    second.ws.send(f32(2, 2));
    await waitFor(() => second.messages.length === 1);
    expect(second.messages[0]).toMatchObject({ seq: 2, outputs: { y: [[3, 3]] } });
  });

  it('closes the stream of an unknown session and of one reaped while connected', async () => {
    await start({ idleTimeoutMs: 300, reapEveryMs: 50 });
    const unknown = await stream('/api/v1/deployments/seed/sessions/nope/stream');
    expect(await unknown.closed).toMatchObject({ code: 4404 });
    expect(unknown.messages).toEqual([{ error: { code: 'SESSION_NOT_FOUND', message: expect.stringContaining('nope') } }]);

    const id = (await createSession()).json().session_id as string;
    const other = await stream(`/api/v1/deployments/other/sessions/${id}/stream`); // not that deployment's session
    expect(await other.closed).toMatchObject({ code: 4404 });

    const c = await stream(`/api/v1/deployments/seed/sessions/${id}/stream`);
    c.ws.send(f32(1, 1));
    expect(await c.closed).toMatchObject({ code: 1000 });
    expect(c.messages).toEqual([{ seq: 1, outputs: { y: [[1, 1]] }, prediction: 0 }, { event: 'ended', reason: 'idle' }]);
    expect(s.sessions.stateOf(id)).toBeUndefined();
  });

  it('/health counts the sessions', async () => {
    await start();
    await createSession();
    const health = await s.p.app.inject({ url: '/health' });
    expect(health.json()).toEqual({ status: 'ok', version: '9.9.9-test', sessions: { open: 1, max: 4096 } });
  });
});
