/**
 * Authentication on a real server (startServer, SQLite, a lake, serving) in `auth: keys`:
 * every route of the OpenAPI document refuses a missing, wrong, expired or revoked key with
 * 401 and a viewer on a write with 403; keys work over SSE and WebSocket through
 * ?access_token; task tokens are their task's tenant; admins manage keys and read the audit
 * log of their own tenant only; a key over its rate limit gets 429 with Retry-After.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateApiKey } from '../../../src/auth/api-key.ts';
import { openKeyStores } from '../../../src/auth/key-admin-store.ts';
import { revokeApiKey } from '../../../src/auth/keys.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { type RunningServer, startServer } from '../../../src/main.ts';
import { createKey, createKeyWithId } from '../../helpers/keys.ts';
import { ROOT, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

let server: RunningServer;
let dbPath: string;
const keys: Record<'admin' | 'member' | 'viewer' | 'expired' | 'revoked' | 'wrong' | 'otherAdmin' | 'slow', string> = {} as never;

beforeAll(async () => {
  const dir = tempDir('lakeray-auth-');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      lake: { root: join(dir, 'lake') },
      script_roots: [join(ROOT, 'test/fixtures/scripts')],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu: 1, kill_grace_ms: 500 } },
      auth: { mode: 'keys', tenant_rate_limits: { slow: { requests_per_second: 0.2, burst: 2 } } },
    },
    dir,
    {},
  );
  dbPath = join(dir, 'state', 'lakeray.db');
  server = await startServer({ config, port: 0, host: '127.0.0.1', logLevel: 'silent' });
  // Keys are made while the server runs, the way `lakeray keys create` does: straight into its database.
  const stores = await openKeyStores({ kind: 'sqlite', path: dbPath });
  try {
    keys.admin = await createKey(stores, { tenant: 'acme', role: 'admin' });
    keys.member = await createKey(stores, { tenant: 'acme', role: 'member' });
    keys.viewer = await createKey(stores, { tenant: 'acme', role: 'viewer' });
    keys.otherAdmin = await createKey(stores, { tenant: 'globex', role: 'admin' });
    keys.slow = await createKey(stores, { tenant: 'slow', role: 'viewer' });
    const expired = generateApiKey();
    await stores.keys.createKey({ id: expired.id, tenant: 'acme', role: 'admin', hash: expired.hash, name: null, created_at: 1, expires_at: Date.now() - 1000, revoked_at: null, last_used_at: null });
    keys.expired = expired.bearer;
    const revoked = await createKeyWithId(stores, { tenant: 'acme', role: 'admin' });
    await revokeApiKey(stores, { tenant: 'acme', role: 'admin', key_id: null }, revoked.id);
    keys.revoked = revoked.bearer;
    keys.wrong = generateApiKey().bearer;
  } finally {
    await stores.close();
  }
}, 120_000);

afterAll(async () => server?.close());

async function call(method: string, path: string, key?: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (a proxied or binary answer)
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Open without credentials by design (docs/api.md): probes, metrics, the OpenAPI pages. */
const OPEN = new Set(['/health', '/ready', '/metrics']);
/** They check a task's or an executor's own token, and refuse anything else with 401 too. */
const SELF_AUTHENTICATED = new Set(['POST /api/v1/tasks/{id}/reports', 'PUT /api/v1/tasks/{id}/artifacts/{name}', 'POST /api/v1/executors/{name}/driver/poll']);

describe('every route of the OpenAPI document', () => {
  let ops: { method: string; path: string; url: string }[];

  beforeAll(async () => {
    const doc = (await call('GET', '/docs/json')).body as { paths: Record<string, Record<string, unknown>> };
    ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete', 'head'].includes(m))
        .map((m) => ({ method: m.toUpperCase(), path, url: path.replace(/\{[^}]+\}/g, 'x1') })),
    );
    ops = ops.filter((op) => !OPEN.has(op.path) && !op.path.startsWith('/docs'));
  });

  it('covers the API: tasks, lake, serving, services, keys, audit', () => {
    const paths = new Set(ops.map((o) => o.path));
    for (const p of ['/api/v1/tasks', '/api/v1/datasets', '/api/v1/deployments', '/api/v1/services', '/api/v1/keys', '/api/v1/audit', '/init']) expect(paths, p).toContain(p);
    expect(ops.length).toBeGreaterThan(40);
  });

  it.each(['none', 'wrong', 'expired', 'revoked'] as const)('refuses %s key with 401 UNAUTHORIZED', async (which) => {
    const key = which === 'none' ? undefined : keys[which];
    const failures: string[] = [];
    for (const op of ops) {
      const r = await call(op.method, op.url, key, op.method === 'GET' || op.method === 'HEAD' || op.method === 'DELETE' ? undefined : {});
      const code = op.method === 'HEAD' ? 'UNAUTHORIZED' : r.body?.error?.code;
      if (r.status !== 401 || code !== 'UNAUTHORIZED') failures.push(`${op.method} ${op.path}: ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('covers the routes the document hides too: the events WebSocket, the service proxy, the demo page', async () => {
    for (const [method, path] of [['GET', '/api/v1/ws'], ['GET', '/api/v1/services/x1/'], ['POST', '/api/v1/services/x1/predict'], ['GET', '/demo/mnist'], ['GET', '/wss/x1']] as const) {
      for (const key of [undefined, keys.wrong, keys.revoked]) {
        const r = await call(method, path, key);
        expect([method, path, r.status, r.body?.error?.code]).toEqual([method, path, 401, 'UNAUTHORIZED']);
      }
    }
  });

  it('says why a key is refused', async () => {
    expect((await call('GET', '/api/v1/tasks')).body.error.message).toMatch(/API key is required/);
    expect((await call('GET', '/api/v1/tasks', keys.wrong)).body.error.message).toBe('Invalid API key');
    expect((await call('GET', '/api/v1/tasks', keys.expired)).body.error.message).toMatch(/expired at/);
    expect((await call('GET', '/api/v1/tasks', keys.revoked)).body.error.message).toMatch(/was revoked/);
    expect((await call('GET', '/api/v1/tasks', 'lrt1.bm9wZQ.1.AAAA')).status).toBe(401); // a forged task token
  });

  it('refuses a viewer on every write with 403 FORBIDDEN, and lets it read', async () => {
    const failures: string[] = [];
    for (const op of ops.filter((o) => !['GET', 'HEAD'].includes(o.method))) {
      const r = await call(op.method, op.url, keys.viewer, op.method === 'DELETE' ? undefined : {});
      const expected = SELF_AUTHENTICATED.has(`${op.method} ${op.path}`) ? 401 : 403;
      if (r.status !== expected) failures.push(`${op.method} ${op.path}: ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
      else if (expected === 403 && r.body?.error?.code !== 'FORBIDDEN') failures.push(`${op.method} ${op.path}: ${r.body?.error?.code}`);
    }
    expect(failures).toEqual([]);
    expect((await call('GET', '/api/v1/tasks', keys.viewer)).status).toBe(200);
    expect((await call('GET', '/api/v1/datasets', keys.viewer)).status).toBe(200);
  }, 120_000);
});

describe('roles and tenants', () => {
  it('lets a member write in its tenant, and keeps admin routes to admins', async () => {
    const created = await call('POST', '/api/v1/tasks', keys.member, { script: 'ok.py', name: 'by-member' });
    expect(created.status).toBe(201);
    expect(created.body.tenant).toBe('acme');
    expect((await call('GET', `/api/v1/tasks/${created.body.id}`, keys.viewer)).status).toBe(200);
    // Another tenant's admin does not see it.
    expect((await call('GET', `/api/v1/tasks/${created.body.id}`, keys.otherAdmin)).status).toBe(404);
    for (const [method, path] of [['GET', '/api/v1/keys'], ['POST', '/api/v1/keys'], ['GET', '/api/v1/audit'], ['DELETE', '/api/v1/keys/k0000000000000000']] as const) {
      const r = await call(method, path, keys.member, method === 'POST' ? { role: 'viewer' } : undefined);
      expect([method, path, r.status, r.body.error.code]).toEqual([method, path, 403, 'FORBIDDEN']);
    }
  });

  it('takes a running task token as its task’s tenant', async () => {
    const created = await call('POST', '/api/v1/tasks', keys.member, { script: 'ok.py' });
    const token = server.tokens.mint(created.body.id, 1);
    const r = await call('GET', `/api/v1/tasks/${created.body.id}`, token);
    expect([r.status, r.body.tenant]).toEqual([200, 'acme']);
    expect((await call('GET', '/api/v1/tasks', server.tokens.mint('t_does_not_exist', 1))).status).toBe(401);
  });
});

describe('keys API and audit log', () => {
  it('creates a key shown once, lists keys without secrets, revokes within the tenant only', async () => {
    const made = await call('POST', '/api/v1/keys', keys.admin, { role: 'viewer', expires: '30d', name: 'dashboard' });
    expect(made.status).toBe(201);
    expect(made.body.key).toMatchObject({ tenant: 'acme', role: 'viewer', name: 'dashboard', revoked_at: null });
    expect(Date.parse(made.body.key.expires_at)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const secret = made.body.secret as string;
    expect((await call('GET', '/api/v1/tasks', secret)).status).toBe(200);

    const listed = await call('GET', '/api/v1/keys', keys.admin);
    const raw = JSON.stringify(listed.body);
    expect(raw).not.toContain(secret.split('.')[2]);
    expect(raw).not.toMatch(/hash/);
    expect(listed.body.keys.every((k: { tenant: string }) => k.tenant === 'acme')).toBe(true);
    expect(listed.body.keys.map((k: { id: string }) => k.id)).toContain(made.body.key.id);
    expect((await call('GET', '/api/v1/keys', keys.otherAdmin)).body.keys.map((k: { id: string }) => k.id)).not.toContain(made.body.key.id);

    expect((await call('DELETE', `/api/v1/keys/${made.body.key.id}`, keys.otherAdmin)).status).toBe(404);
    expect((await call('GET', '/api/v1/tasks', secret)).status).toBe(200);
    expect((await call('DELETE', `/api/v1/keys/${made.body.key.id}`, keys.admin)).status).toBe(204);
    const after = await call('GET', '/api/v1/tasks', secret);
    expect([after.status, after.body.error.message]).toEqual([401, expect.stringMatching(/revoked/)]);
    expect((await call('DELETE', `/api/v1/keys/${made.body.key.id}`, keys.admin)).body.error.code).toBe('KEY_NOT_FOUND');
  });

  it('refuses a bad role or expiry with 400', async () => {
    expect((await call('POST', '/api/v1/keys', keys.admin, { role: 'root' })).status).toBe(400);
    const r = await call('POST', '/api/v1/keys', keys.admin, { role: 'viewer', expires: 'someday' });
    expect([r.status, r.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('records key changes in the tenant’s audit log, newest first, page by page', async () => {
    const made = await call('POST', '/api/v1/keys', keys.admin, { role: 'member' });
    await call('DELETE', `/api/v1/keys/${made.body.key.id}`, keys.admin);
    const adminId = keys.admin.split('.')[1];
    const page1 = await call('GET', '/api/v1/audit?limit=2', keys.admin);
    expect(page1.body.entries.map((e: { action: string; target: string; key_id: string }) => [e.action, e.target, e.key_id])).toEqual([
      ['key.revoke', made.body.key.id, adminId],
      ['key.create', made.body.key.id, adminId],
    ]);
    expect(page1.body.next_before).toBe(page1.body.entries[1].id);
    const page2 = await call('GET', `/api/v1/audit?limit=1000&before=${page1.body.next_before}`, keys.admin);
    expect(page2.body.entries.every((e: { id: number }) => e.id < page1.body.next_before)).toBe(true);
    // The CLI-made keys of beforeAll are there too, by the operator (no key).
    expect(page2.body.entries.some((e: { action: string; key_id: string | null }) => e.action === 'key.create' && e.key_id === null)).toBe(true);
    const other = await call('GET', '/api/v1/audit', keys.otherAdmin);
    expect(other.body.entries.map((e: { target: string }) => e.target)).not.toContain(made.body.key.id);
  });
});

describe('audited deletes', () => {
  it('records a member deleting a finished task in the tenant’s audit log', async () => {
    const created = await call('POST', '/api/v1/tasks', keys.member, { script: 'ok.py' });
    const id = created.body.id as string;
    await until('the task finished', async () => (['completed', 'failed'].includes((await call('GET', `/api/v1/tasks/${id}`, keys.member)).body.status) ? true : undefined), 120_000, 100);
    expect((await call('DELETE', `/api/v1/tasks/${id}`, keys.member)).status).toBe(204);
    const entries = (await call('GET', '/api/v1/audit?limit=5', keys.admin)).body.entries as { action: string; target: string; key_id: string }[];
    expect(entries[0]).toMatchObject({ action: 'task.delete', target: id, key_id: keys.member.split('.')[1] });
  }, 150_000);
});

describe('browsers: SSE and WebSocket with ?access_token', () => {
  it('streams task events to a key in the query, and refuses without one', async () => {
    const created = await call('POST', '/api/v1/tasks', keys.member, { script: 'ok.py' });
    const path = `/api/v1/tasks/${created.body.id}/events`;
    expect((await fetch(`${server.url}${path}`, { headers: { accept: 'text/event-stream' } })).status).toBe(401);
    const controller = new AbortController();
    const res = await fetch(`${server.url}${path}?access_token=${encodeURIComponent(keys.viewer)}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    controller.abort();
    // Only on reads: a write must use the header.
    expect((await call('POST', `/api/v1/tasks/${created.body.id}/cancel?access_token=${encodeURIComponent(keys.member)}`)).status).toBe(401);
  });

  it('opens the events WebSocket for a key in the query, and refuses the upgrade without one', async () => {
    const wsUrl = `${server.url.replace('http', 'ws')}/api/v1/ws`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(refused).toBe(401);
    const ws = new WebSocket(`${wsUrl}?access_token=${encodeURIComponent(keys.viewer)}`);
    const reply = await new Promise<any>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ op: 'ping' })));
      ws.on('message', (data) => resolve(JSON.parse(String(data))));
      ws.on('error', reject);
    });
    ws.close();
    expect(reply.type).toBe('pong');
  });

  it('refuses a viewer the session WebSockets, which write chunks', async () => {
    for (const path of ['/wss/s1', '/api/v1/deployments/d/sessions/s1/stream']) {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}${path}?access_token=${encodeURIComponent(keys.viewer)}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      expect([path, status]).toEqual([path, 403]);
    }
  });
});

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a key’s bucket is empty', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 4; i++) {
      const r = await call('GET', '/api/v1/tasks', keys.slow);
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(limited?.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key of another tenant is not held back by it.
    expect((await call('GET', '/api/v1/tasks', keys.viewer)).status).toBe(200);
  });
});
