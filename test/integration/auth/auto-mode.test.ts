/**
 * Auth modes on the API platform (real engine, SQLite): `auto` takes keyless requests on
 * loopback as the default tenant's admin (README's commands) but checks any bearer sent, and
 * requires keys once bound to a non-loopback address; `none` takes keyless requests anywhere;
 * `keys` requires them on loopback too. Keyless loopback callers are never rate limited.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { createKey } from '../../helpers/keys.ts';
import { type Platform, setup } from '../api/platform.ts';

const authConfig = (auth: unknown) => parseConfig({ auth }, '/tmp', {}).auth;

let platform: Platform | undefined;
let keyStore: SqliteTaskStore | undefined;
afterEach(async () => {
  await platform?.close();
  keyStore?.close();
  platform = undefined;
});

async function start(auth: unknown): Promise<{ p: Platform; store: SqliteTaskStore }> {
  keyStore = SqliteTaskStore.open(':memory:');
  platform = await setup({ auth: { config: authConfig(auth), stores: keyStore } });
  return { p: platform, store: keyStore };
}

const get = async (url: string, key?: string) => (await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} })).status;

describe('auth mode auto', () => {
  it('on loopback: keyless is the default tenant’s admin, unlimited; a bearer sent is always checked', async () => {
    const { p, store } = await start({ rate_limit: { requests_per_second: 1, burst: 1 } });
    const created = await p.app.inject({ method: 'POST', url: '/api/v1/tasks', payload: { script: 'hold.mjs' } });
    expect([created.statusCode, created.json().tenant]).toEqual([201, 'default']);
    for (let i = 0; i < 5; i++) expect((await p.app.inject({ method: 'GET', url: '/api/v1/tasks' })).statusCode).toBe(200);
    expect((await p.app.inject({ method: 'GET', url: '/api/v1/keys' })).statusCode).toBe(200); // admin
    const wrong = await p.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: 'Bearer lrk1.k0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([401, 'UNAUTHORIZED']);
    expect((await p.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: 'Basic abc' } })).statusCode).toBe(401);
    const viewer = await createKey(store, { tenant: 'acme', role: 'viewer' });
    const asViewer = await p.app.inject({ method: 'POST', url: '/api/v1/tasks', payload: { script: 'hold.mjs' }, headers: { authorization: `Bearer ${viewer}` } });
    expect([asViewer.statusCode, asViewer.json().error.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('bound to a non-loopback address: every request needs a key; probes and the UI stay open', async () => {
    const { p, store } = await start('auto');
    await p.app.listen({ host: '0.0.0.0', port: 0 });
    const url = `http://127.0.0.1:${(p.app.server.address() as { port: number }).port}`;
    expect(await get(`${url}/api/v1/tasks`)).toBe(401);
    expect(await get(`${url}/api/v1/tasks`, await createKey(store, { tenant: 'default', role: 'viewer' }))).toBe(200);
    expect(await get(`${url}/health`)).toBe(200);
    expect(await get(`${url}/docs/json`)).toBe(200);
    expect((await fetch(`${url}/`)).status).toBe(200);
    expect((await fetch(`${url}/tasks/t_1`, { headers: { accept: 'text/html' } })).status).toBe(200); // the UI's own routes
  });
});

describe('auth modes none and keys', () => {
  it('none: keyless anywhere, even off loopback', async () => {
    const { p } = await start('none');
    await p.app.listen({ host: '0.0.0.0', port: 0 });
    expect(await get(`http://127.0.0.1:${(p.app.server.address() as { port: number }).port}/api/v1/tasks`)).toBe(200);
  });

  it('keys: no keyless request even on loopback', async () => {
    const { p, store } = await start({ mode: 'keys' });
    expect((await p.app.inject({ method: 'GET', url: '/api/v1/tasks' })).statusCode).toBe(401);
    const member = await createKey(store, { tenant: 'acme', role: 'member' });
    expect((await p.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: `Bearer ${member}` } })).statusCode).toBe(200);
  });
});
