/**
 * The web UI on a server that needs keys (auth mode `keys`): the first 401 shows the sign-in
 * form; a wrong key is refused in words; a right one is kept for the tab (sessionStorage) and
 * every view works with it, the live WebSocket included (?access_token). Signing out asks again.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { type RunningServer, startServer } from '../../src/main.ts';
import { createKey } from '../helpers/keys.ts';
import { ROOT, tempDir } from '../helpers/server-process.ts';
import { ensureWebBuilt, expectNoConsoleErrors, launchBrowser, openPage } from './helpers.ts';

let server: RunningServer;
let browser: Browser;
let viewer: string;
let taskId: string;

beforeAll(async () => {
  await ensureWebBuilt();
  const dir = tempDir('lakeray-e2e-signin-');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    { state_dir: join(dir, 'state'), lake: { root: join(dir, 'lake') }, script_roots: [join(ROOT, 'test/fixtures/scripts')], data_roots: [join(dir, 'data')], executors: { local: { cpu: 1 } }, auth: { mode: 'keys' } },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, host: '127.0.0.1', logLevel: 'silent' });
  const db = join(dir, 'state', 'lakeray.db');
  viewer = await createKey(db, { tenant: 'acme', role: 'viewer' });
  const member = await createKey(db, { tenant: 'acme', role: 'member' });
  const res = await fetch(`${server.url}/api/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${member}`, 'content-type': 'application/json' }, body: JSON.stringify({ script: 'ok.py', name: 'signed-in-task' }) });
  taskId = ((await res.json()) as { id: string }).id;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('web UI sign-in', () => {
  it('asks for a key on 401, refuses a wrong one, works with a right one, and forgets it on sign-out', async () => {
    // Before signing in, the page's API calls are 401: that is the point, not a page error.
    const p = await openPage(browser, `${server.url}/tasks`, undefined, { allowHttpErrors: [/\/api\/v1\//] });
    const dialog = p.page.getByRole('dialog', { name: 'Sign in' });
    await dialog.waitFor({ timeout: 15_000 });

    await p.page.getByLabel('API key').fill('lrk1.k0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(async () => dialog.getByRole('alert').textContent(), { timeout: 10_000 }).toBe('Invalid API key');

    await p.page.getByLabel('API key').fill(viewer);
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    await p.page.getByText('signed-in-task').first().waitFor({ timeout: 20_000 });
    expect(await dialog.count()).toBe(0);
    expect(await p.page.evaluate(() => sessionStorage.getItem('lakeray.api_key'))).toBe(viewer);

    // The task page streams its events over the WebSocket, which carries the key in its URL.
    await p.page.goto(`${server.url}/tasks/${taskId}`);
    await p.page.locator('.live[data-state="open"]').waitFor({ timeout: 20_000 });
    expect(await dialog.count()).toBe(0);
    p.errors.length = 0; // the 401s of before signing in
    await p.page.reload();
    await p.page.locator('.live[data-state="open"]').waitFor({ timeout: 20_000 });
    expectNoConsoleErrors(p);

    await p.page.getByRole('button', { name: 'Sign out' }).click();
    await dialog.waitFor({ timeout: 15_000 });
    expect(await p.page.evaluate(() => sessionStorage.getItem('lakeray.api_key'))).toBeNull();
  }, 120_000);
});
