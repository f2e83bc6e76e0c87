/**
 * Seed 003's README snippets, run as written against Lakeray with only the base URL changed:
 * its curl lines through the real `curl` (bash, as a user pastes them) and its browser
 * WebSocket snippet in Node with the `ws` WebSocket. The snippets are copied verbatim below;
 * where the seed's text is present (/work/shared/seeds) the test checks they still match it.
 *
 * Placeholders: `{session_id}` and `"session_id": "session_id"` are run both as written
 * (a clear 404 SESSION_NOT_FOUND; curl's globbing reads `{session_id}` as "session_id") and
 * with the id /init returned. The browser snippet sends right after `new WebSocket(…)`, which
 * a browser only allows once the socket is open: the one line added waits for "open".
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type SessionsApp, startSessionsApp } from './sessions-app.ts';
import { seedText } from '../../helpers/seed-text.ts';

const run = promisify(execFile);

const HEALTH = 'curl http://localhost:8000/health';
const RAY_STATS = 'curl http://localhost:8000/ray/stats';
const INIT = `curl -X POST "http://localhost:8000/init" \\
  -H "Content-Type: application/json" \\
  -d '{
    "agent_type": "InfiniSST",
    "language_pair": "English -> Chinese",
    "client_id": "user_001"
  }'`;
const QUEUE_STATUS = 'curl "http://localhost:8000/queue_status/{session_id}"';
const DELETE = `curl -X POST "http://localhost:8000/delete_session" \\
  -H "Content-Type: application/json" \\
  -d '{"session_id": "session_id"}'`;
const RAY_STATS_QUOTED = 'curl "http://localhost:8000/ray/stats"';
const CONFIGURE = `curl -X POST "http://localhost:8000/ray/configure" \\
  -H "Content-Type: application/json" \\
  -d '{
    "max_batch_size": 16,
    "batch_timeout_ms": 150.0,
    "enable_dynamic_batching": true
  }'`;
const CONFIGURE_TUNING = `curl -X POST "http://localhost:8000/ray/configure" \\
  -H "Content-Type: application/json" \\
  -d '{"max_batch_size": 16, "batch_timeout_ms": 80.0}'`;
const UPGRADE_PROBE = `curl -i -N -H "Connection: Upgrade" -H "Upgrade: websocket" \\
  http://localhost:8000/wss/test_session`;
const BROWSER = `// 连接WebSocket
const ws = new WebSocket(\`ws://localhost:8000/wss/\${sessionId}\`);

// 发送音频数据
ws.send(audioArrayBuffer);

// 接收翻译结果
ws.onmessage = (event) => {
  console.log('Translation:', event.data);
};

// 结束音频流
ws.send('EOF');`;

let s: SessionsApp;
beforeAll(async () => {
  s = await startSessionsApp();
});
afterAll(async () => s?.close());

const host = () => s.base.replace('http://', '');
/** Runs a snippet as a user would paste it into bash, against our server. */
async function curl(snippet: string, id?: string): Promise<string> {
  let line = snippet.replaceAll('http://localhost:8000', s.base);
  if (id !== undefined) line = line.replace('{session_id}', id).replace('"session_id": "session_id"', `"session_id": "${id}"`);
  const { stdout } = await run('bash', ['-c', line], { timeout: 20_000 });
  return stdout;
}
const json = async (snippet: string, id?: string) => JSON.parse(await curl(snippet, id)) as Record<string, any>;

describe("seed 003's snippets", () => {
  it('are copied verbatim from the seed', () => {
    const seed = seedText('003');
    if (seed === undefined) return; // the seed is not on this machine: the copies above stand
    for (const snippet of [HEALTH, RAY_STATS, INIT, QUEUE_STATUS, DELETE, RAY_STATS_QUOTED, CONFIGURE, CONFIGURE_TUNING, UPGRADE_PROBE, BROWSER])
      expect(seed, snippet).toContain(snippet);
  });

  it('curl: health, stats, init, queue_status, configure (live), delete_session', async () => {
    expect(await json(HEALTH)).toMatchObject({ status: 'ok', sessions: { open: 0, max: 4096 } });
    expect(await json(RAY_STATS)).toMatchObject({ name: 'seed', queue_depth: 0, settings: { batch_timeout_ms: 10 }, sessions: { open: 0 } });

    const init = await json(INIT);
    expect(init).toMatchObject({ deployment: 'seed', agent_type: 'InfiniSST', language_pair: 'English -> Chinese', client_id: 'user_001', gpu: '0' });
    const id = init.session_id as string;
    expect(await json(QUEUE_STATUS, id)).toMatchObject({ session_id: id, status: 'open', position: null, pending_chunks: 0, chunks_done: 0 });
    expect((await json(QUEUE_STATUS)).error.code).toBe('SESSION_NOT_FOUND'); // as written: the id "session_id"

    expect(await json(CONFIGURE)).toMatchObject({ name: 'seed', settings: { max_batch_size: 16, batch_timeout_ms: 150, enable_dynamic_batching: true } });
    expect((await json(RAY_STATS_QUOTED)).settings).toMatchObject({ max_batch_size: 16, batch_timeout_ms: 150 });
    await json(CONFIGURE_TUNING);
    expect(s.host.gateway('default', 'seed')?.stats().settings).toMatchObject({ max_batch_size: 16, batch_timeout_ms: 80, enable_dynamic_batching: true });

    expect((await json(DELETE)).error.code).toBe('SESSION_NOT_FOUND'); // as written
    expect(await json(DELETE, id)).toEqual({ session_id: id, deleted: true, chunks: 0 });
    expect((await json(QUEUE_STATUS, id)).error.code).toBe('SESSION_NOT_FOUND');
  });

  it("curl: the README's WebSocket probe gets a clear answer, not a hang", async () => {
    const out = await curl(UPGRADE_PROBE);
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(out).toContain('"code":"INVALID_REQUEST"');
  });

  it('the browser snippet streams a chunk and EOF over /wss/{session_id}', async () => {
    const sessionId = (await json(INIT)).session_id as string;
    const audioArrayBuffer = Float32Array.from([0.25, 0.5, 1, 2]).buffer; // two rows of the model's 2 values
    const logged: unknown[][] = [];
    const console = { log: (...args: unknown[]) => logged.push(args) };
    const opened = (ws: WebSocket) => new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed: Promise<number>[] = [];
    const code = BROWSER.replaceAll('ws://localhost:8000', `ws://${host()}`).replace(
      /(const ws = new WebSocket\(.*\);)/,
      '$1\nawait opened(ws); __closed.push(new Promise((r) => ws.once("close", r)));',
    );
    const snippet = new Function('WebSocket', 'sessionId', 'audioArrayBuffer', 'console', 'opened', '__closed', `return (async () => {\n${code}\n})();`) as (
      ...args: unknown[]
    ) => Promise<void>;
    await snippet(WebSocket, sessionId, audioArrayBuffer, console, opened, closed);
    expect(await closed[0]).toBe(1000);
    expect(logged).toEqual([
      ['Translation:', JSON.stringify({ seq: 1, outputs: { y: [[0.25, 0.5], [1, 2]] }, prediction: [1, 1] })],
      ['Translation:', JSON.stringify({ event: 'eof', chunks: 1 })],
    ]);
    expect(s.sessions.has('default', sessionId)).toBe(false);
  });

  it('serve the only deployment; with several and none configured, a clear 404', async () => {
    s.host.add('other');
    const init = await json(INIT);
    expect(init.error).toMatchObject({ code: 'DEPLOYMENT_NOT_FOUND', message: expect.stringContaining('serving.seed003.deployment') });
    expect((await json(RAY_STATS)).error.code).toBe('DEPLOYMENT_NOT_FOUND');
  });
});
