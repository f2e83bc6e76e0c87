/**
 * The lake trusts a task only by its token, and a token reaches only its own tenant's
 * namespace (src/api/lake-caller.ts, src/lake/service/tenant-lakes.ts): X-Lakeray-Task alone,
 * another task's token, a forged token and another tenant's token are refused or see nothing;
 * a real Python task reads and writes its own tenant's tables through the real lake client.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ipc, lakeCall, startIsolationServer, ARROW, ARROW_FILE_REF, type IsolationServer } from './fixture.ts';

let iso: IsolationServer;
let url: string;
let acme: Awaited<ReturnType<IsolationServer['hold']>>;
let other: Awaited<ReturnType<IsolationServer['hold']>>;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  iso = await startIsolationServer();
  url = iso.server.url;
  [acme, other] = await Promise.all([iso.hold('acme'), iso.hold('other')]);
  // The default namespace (keyless client) has 10 rows of `digits`; acme's (its task's token) 3.
  expect((await lakeCall(url, 'PUT', '/api/v1/datasets/digits/arrow?mode=create', {}, ipc(10))).status).toBe(200);
  const put = await lakeCall(url, 'PUT', '/api/v1/datasets/digits/arrow?mode=create', bearer(acme.token), ipc(3));
  expect(put.status, put.text).toBe(200);
}, 90_000);

afterAll(async () => {
  acme?.release();
  other?.release();
  await iso?.close();
});

describe('task tokens on the lake', () => {
  it('X-Lakeray-Task without the task\'s token is 401, for reads and writes', async () => {
    expectError(await lakeCall(url, 'GET', '/api/v1/datasets/digits/arrow', { 'x-lakeray-task': acme.task.id }), 401, 'UNAUTHORIZED');
    expectError(await lakeCall(url, 'PUT', '/api/v1/datasets/digits/arrow', { 'x-lakeray-task': acme.task.id }, ipc(1)), 401, 'UNAUTHORIZED');
  });

  it("another task's token, a forged token and a token of an old attempt are 401", async () => {
    expectError(await lakeCall(url, 'GET', '/api/v1/datasets/digits/arrow', { 'x-lakeray-task': acme.task.id, ...bearer(other.token) }), 401, 'UNAUTHORIZED');
    const forged = `lrt1.${Buffer.from(acme.task.id).toString('base64url')}.1.${Buffer.alloc(32, 7).toString('base64url')}`;
    expectError(await lakeCall(url, 'GET', '/api/v1/datasets/digits/arrow', { 'x-lakeray-task': acme.task.id, ...bearer(forged) }), 401, 'UNAUTHORIZED');
    const oldAttempt = iso.server.tokens.mint(acme.task.id, acme.task.attempt + 1);
    expectError(await lakeCall(url, 'GET', '/api/v1/datasets/digits/arrow', bearer(oldAttempt)), 401, 'UNAUTHORIZED');
    // Nothing was written by the refused PUT above.
    expect(JSON.parse((await lakeCall(url, 'GET', '/api/v1/datasets/digits', bearer(acme.token))).text).num_rows).toBe(3);
  });

  it("a token sees its own tenant's namespace only", async () => {
    const own = await lakeCall(url, 'GET', '/api/v1/datasets/digits/rows', bearer(acme.token));
    expect(JSON.parse(own.text).total).toBe(3);
    // Tenant `other` has no `digits`: acme's and default's are not there for it, under any route.
    for (const path of ['/api/v1/datasets/digits', '/api/v1/datasets/digits/rows', '/api/v1/datasets/digits/arrow', '/api/v1/datasets/digits/versions']) {
      expectError(await lakeCall(url, 'GET', path, bearer(other.token)), 404, 'DATASET_NOT_FOUND');
    }
    expectError(await lakeCall(url, 'DELETE', '/api/v1/datasets/digits', bearer(other.token)), 404, 'DATASET_NOT_FOUND');
    expect(JSON.parse((await lakeCall(url, 'GET', '/api/v1/datasets', bearer(other.token))).text)).toEqual([]);
    // Its write lands in its own namespace and changes neither acme's nor default's table.
    expect((await lakeCall(url, 'PUT', '/api/v1/datasets/digits/arrow?mode=overwrite', bearer(other.token), ipc(5))).status).toBe(200);
    expect(JSON.parse((await lakeCall(url, 'GET', '/api/v1/datasets/digits', bearer(acme.token))).text).num_rows).toBe(3);
    expect(JSON.parse((await lakeCall(url, 'GET', '/api/v1/datasets/digits')).text).num_rows).toBe(10);
    // The keyless (default) client lists only the default namespace.
    expect(JSON.parse((await lakeCall(url, 'GET', '/api/v1/datasets')).text).map((d: { id: string }) => d.id)).toEqual(['digits']);
    expect(existsSync(join(iso.dir, 'lake', 'tenants', 'acme', 'datasets', 'digits.lance'))).toBe(true);
  });

  it('a local Arrow file path goes to a running task with its token only; a client gets the stream', async () => {
    const client = await lakeCall(url, 'GET', '/api/v1/datasets/digits/arrow', { accept: ARROW_FILE_REF });
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe(ARROW);
    expect(client.text).not.toContain(iso.dir);
    const task = await lakeCall(url, 'GET', '/api/v1/datasets/digits/arrow', { accept: ARROW_FILE_REF, ...bearer(acme.token) });
    expect(String(task.headers['content-type'])).toContain(ARROW_FILE_REF);
    expect(JSON.parse(task.text).rows).toBe(3);
  });

  it("a task token reaches its own task's routes and its tenant's lake, nothing else", async () => {
    const sibling = await iso.hold('acme');
    try {
      expect((await lakeCall(url, 'GET', `/api/v1/tasks/${acme.task.id}/events`, bearer(acme.token))).status).toBe(200);
      expect((await lakeCall(url, 'GET', `/api/v1/tasks/${acme.task.id}`, bearer(acme.token))).status).toBe(200);
      // Its own tenant's other task: not there for it; the task list, submits, services: refused.
      expectError(await lakeCall(url, 'GET', `/api/v1/tasks/${sibling.task.id}/events`, bearer(acme.token)), 404, 'TASK_NOT_FOUND');
      expectError(await lakeCall(url, 'POST', `/api/v1/tasks/${sibling.task.id}/cancel`, bearer(acme.token)), 404, 'TASK_NOT_FOUND');
      expectError(await lakeCall(url, 'GET', '/api/v1/tasks', bearer(acme.token)), 403, 'FORBIDDEN');
      expectError(await lakeCall(url, 'GET', '/api/v1/services', bearer(acme.token)), 403, 'FORBIDDEN');
      expect((await iso.server.engine.get({ tenant: 'acme' }, sibling.task.id)).status).toBe('running');
    } finally {
      sibling.release();
    }
  });

  it('describing a table names no server path', async () => {
    const d = await lakeCall(url, 'GET', '/api/v1/datasets/digits');
    expect(JSON.parse(d.text).path).toBe('datasets/digits.lance');
    expect(d.text).not.toContain(iso.dir);
  });

  it("a real Python task reads and writes its own tenant's tables through the lake client", async () => {
    const a = await iso.runAs('acme', { script: 'reads_lake.py', params: { read: 'digits', write: 'made_by_acme' } });
    expect(a.status, JSON.stringify(a.error)).toBe('completed');
    expect(a.result).toMatchObject({ rows: 3 });
    const d = await iso.runAs('default', { script: 'reads_lake.py', params: { read: 'digits' } });
    expect(d.result).toMatchObject({ rows: 10 });
    expectError(await lakeCall(url, 'GET', '/api/v1/datasets/made_by_acme'), 404, 'DATASET_NOT_FOUND');
    const lineage = JSON.parse((await lakeCall(url, 'GET', '/api/v1/datasets/made_by_acme', bearer(acme.token))).text).lineage;
    expect(lineage[0]).toMatchObject({ task_id: a.id, inputs: [{ kind: 'datasets', name: 'digits', version: 1 }] });
  });
});
