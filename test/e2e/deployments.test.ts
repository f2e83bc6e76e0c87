/**
 * The serving UI in Chromium against a real server: the fixture MNIST CNN and the fixture
 * row-reading GRU are written into the lake; the CNN is deployed from the Deployments page's
 * form; its page shows the replica ready and the live charts, takes a reconfiguration (and
 * shows a refused one inline), answers the try-it panel like the API does; the Draw page
 * predicts through the deployment and streams the drawing's rows through a session of the GRU;
 * `lakeray eval serve` writes a report that the Eval reports page shows; every page fits 390 px.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.ts';
import { api, DESKTOP, type E2EServer, expectNoConsoleErrors, launchBrowser, openPage, screenshot, startE2EServer, until } from './helpers.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/serving');
const PHONE_390 = { width: 390, height: 844 };
const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

let env: E2EServer;
let browser: Browser;

const storeModel = async (name: string, file: string, params: Record<string, unknown>) => {
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../runtimes/node/lake.mjs')).href);
  await createLakeClient({ apiUrl: env.url }).writeModel({ name, files: { 'model.onnx': readFileSync(join(FIXTURES, file)) }, params });
};

const deployment = async (name: string) => (await api(env.url, 'GET', `/api/v1/deployments/${name}`)).body;
const stats = async (name: string) => (await api(env.url, 'GET', `/api/v1/deployments/${name}/stats`)).body;

/** Fails when the page is wider than the window (a horizontal scrollbar at 390 px). */
const expectFits = async (page: Page, what: string) => {
  const { scroll, width } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })')) as { scroll: number; width: number };
  expect(scroll, `${what} is ${scroll} px wide in a ${width} px window`).toBeLessThanOrEqual(width);
};

beforeAll(async () => {
  env = await startE2EServer('lakeray-e2e-deploy-', 4);
  browser = await launchBrowser();
  await storeModel('cnn', 'mnist_cnn.onnx', { classes: FASHION });
  await storeModel('gru', 'gru_rows.onnx', { classes: FASHION, serving: { state: [{ input: 'h0', output: 'hn' }], chunk_input: 'x', chunks: 28 } });
}, 120_000);

afterAll(async () => {
  for (const name of ['mnist', 'rows']) await api(env.url, 'DELETE', `/api/v1/deployments/${name}`).catch(() => undefined);
  await browser?.close();
  await env?.close();
}, 60_000);

describe('serving UI', () => {
  it('deploys the CNN from the form; its page shows the ready replica, live charts, reconfigures and answers try-it', async () => {
    const ui = await openPage(browser, `${env.url}/deployments`, DESKTOP, { allowHttpErrors: [/\/api\/v1\/deployments\/mnist$/] });
    await ui.page.waitForSelector('text=Nothing is deployed yet');
    await ui.page.waitForSelector('#create-model option[value="cnn"]', { state: 'attached' });
    await ui.page.selectOption('#create-model', 'cnn');
    await ui.page.fill('#create-name', 'mnist');
    await ui.page.fill('#create-max_batch_size', '8');
    await ui.page.fill('#create-batch_timeout_ms', '2');
    await ui.page.click('[data-testid="create-deployment"] button[type="submit"]');
    await ui.page.waitForURL(`${env.url}/deployments/mnist`);
    expect(await deployment('mnist')).toMatchObject({ model: 'cnn', max_batch_size: 8, batch_timeout_ms: 2 });

    // The replica comes up; every chart has points after a few polls.
    await ui.page.waitForSelector('[data-testid="replicas"] tr[data-replica-state="ready"]', { timeout: 120_000 });
    await ui.page.waitForFunction(`document.querySelectorAll('[data-testid="live-charts"] svg.chart').length === 3`, undefined, { timeout: 15_000 });

    // Reconfigure live: the API has the new settings.
    await ui.page.fill('#patch-max_batch_size', '16');
    await ui.page.selectOption('#patch-strategy', 'round_robin');
    await ui.page.click('[data-testid="reconfigure"] button[type="submit"]');
    await ui.page.waitForSelector('[data-testid="reconfigure-result"][data-ok="true"]');
    expect(await deployment('mnist')).toMatchObject({ max_batch_size: 16, load_balance_strategy: 'round_robin' });
    // A refused one: the API's 400 message inline, nothing applied.
    await ui.page.fill('#patch-min', '3');
    await ui.page.fill('#patch-max', '2');
    await ui.page.click('[data-testid="reconfigure"] button[type="submit"]');
    const refused = ui.page.locator('[data-testid="reconfigure-result"][data-ok="false"]');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/replicas/);
    expect((await deployment('mnist')).replicas).toMatchObject({ min: 1, max: 1 });

    // Try it: the example body, answered as the API answers it.
    const requestsBefore = (await stats('mnist')).requests_total as number;
    const body = await ui.page.inputValue('#try-body');
    expect(body).toContain('"image"');
    await ui.page.click('[data-testid="try-it"] button[type="submit"]');
    await ui.page.waitForSelector('[data-testid="try-answer"], [data-testid="try-error"]', { timeout: 30_000 });
    expect(await ui.page.locator('[data-testid="try-error"]').count(), (await ui.page.locator('[data-testid="try-error"]').allTextContents()).join()).toBe(0);
    const shown = JSON.parse((await ui.page.locator('[data-testid="try-answer"] pre').textContent({ timeout: 30_000 }))!);
    const direct = (await api(env.url, 'POST', '/api/v1/deployments/mnist/predict', JSON.parse(body))).body;
    expect(shown.prediction).toBe(direct.prediction);
    expect(shown.probabilities).toHaveLength(10);
    expect(shown.label).toBe(FASHION[direct.prediction]);
    await until('the stats to count the try-it request', async () => ((await stats('mnist')).requests_total > requestsBefore ? true : null), 10_000, 200);
    // The charts go on with the batch-size histogram holding the runs so far.
    await ui.page.waitForSelector('ol[aria-label="Batches by size"] li');
    await screenshot(ui.page, 'deployment');
    expectNoConsoleErrors(ui);

    // The list: model@version, backend, 1/1 ready.
    await ui.page.click('nav[aria-label="Breadcrumb"] a[href="/deployments"]');
    const row = ui.page.locator('tr[data-deployment="mnist"]');
    await row.waitFor();
    expect(await row.locator('[data-testid="replicas-ready"]').textContent()).toBe('1/1');
    expect(await row.textContent()).toContain('cnn@1');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 240_000);

  it('predicts a drawing on the Draw page through the deployment, and streams its rows through a GRU session', async () => {
    const created = await api(env.url, 'POST', '/api/v1/deployments', { name: 'rows', model: 'gru', max_batch_size: 16, batch_timeout_ms: 2 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await until('the GRU deployment to be ready', async () => ((await deployment('rows')).status === 'ready' ? true : null), 120_000, 200);
    const before = { mnist: (await stats('mnist')).requests_total as number, rows: (await stats('rows')).rows_total as number };

    const ui = await openPage(browser, `${env.url}/draw`);
    const pad = await ui.page.waitForSelector('[data-testid="draw-pad"]', { timeout: 15_000 });
    await ui.page.waitForSelector('text=through deployment mnist');
    const box = (await pad.boundingBox())!;
    await ui.page.mouse.move(box.x + 0.4 * box.width, box.y + 0.15 * box.height);
    await ui.page.mouse.down();
    await ui.page.mouse.move(box.x + 0.4 * box.width, box.y + 0.85 * box.height, { steps: 10 });
    await ui.page.mouse.move(box.x + 0.6 * box.width, box.y + 0.85 * box.height, { steps: 5 });
    await ui.page.mouse.up();
    await ui.page.waitForFunction(`document.querySelector('[data-testid="prediction"]').textContent !== '—'`, undefined, { timeout: 30_000 });
    expect(FASHION).toContain(await ui.page.locator('[data-testid="prediction"]').textContent());
    expect(await ui.page.locator('.prob-bars li[data-top="true"]').count()).toBe(1);
    expect((await stats('mnist')).requests_total).toBe(before.mnist + 1);

    // The session: one guess per row, 28 in all, and the last one on top.
    await ui.page.waitForFunction(`document.querySelectorAll('[data-testid="session-rows"] li').length === 28`, undefined, { timeout: 30_000 });
    const guesses = await ui.page.locator('[data-testid="session-rows"] li').evaluateAll((lis) => lis.map((li) => li.textContent));
    expect(guesses.every((g) => FASHION.includes(g ?? ''))).toBe(true);
    expect(await ui.page.locator('[data-testid="session-prediction"]').textContent()).toBe(guesses[27]);
    expect((await stats('rows')).rows_total).toBe(before.rows + 28);
    await screenshot(ui.page, 'draw-deployment');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 240_000);

  it('shows a report of lakeray eval serve: its phases, both charts and its README', async () => {
    const out = { text: '', isTTY: false, write(s: string) { this.text += s; return true; } };
    const code = await main(
      ['--url', env.url, 'eval', 'serve', 'mnist', '--users', '2', '--duration', '2', '--batch-test', '--batch-sizes', '1,8', '--batch-timeouts', '0', '--phase-duration', '1', '--out', join(env.dir, 'state')],
      { stdout: out, stderr: out, env: {}, cwd: env.dir, signals: new EventEmitter() },
    );
    expect(code, out.text).toBe(0);
    const report = (await api(env.url, 'GET', '/api/v1/eval/reports')).body.items[0];
    const ui = await openPage(browser, `${env.url}/eval`);
    await ui.page.waitForSelector(`a[href="/eval/${report.id}"]`);
    const phases = ui.page.locator('[data-testid="eval-phases"] tbody tr');
    await phases.first().waitFor();
    expect(await phases.count()).toBe(report.phases);
    for (const img of ['user_test_charts.png', 'batch_test_heatmaps.png']) {
      const loaded = ui.page.locator(`img[data-testid="${img}"]`);
      await loaded.waitFor();
      await ui.page.waitForFunction((sel) => { const i = document.querySelector(sel) as HTMLImageElement | null; return !!i && i.complete && i.naturalWidth > 100; }, `img[data-testid="${img}"]`);
    }
    expect(await ui.page.locator('.report-readme').textContent()).toContain('mnist');
    await screenshot(ui.page, 'eval-report');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 120_000);

  it('fits every serving page into 390 px, and deletes the deployment after a confirmation', async () => {
    for (const path of ['/deployments', '/deployments/mnist', '/draw', '/eval']) {
      const ui = await openPage(browser, `${env.url}${path}`, PHONE_390);
      await ui.page.waitForSelector('h1');
      await ui.page.waitForFunction('document.querySelectorAll(".skeleton").length === 0', undefined, { timeout: 15_000 });
      if (path === '/deployments/mnist') await ui.page.waitForSelector('[data-testid="live-charts"] svg.chart');
      await expectFits(ui.page, path);
      await screenshot(ui.page, `serving${path.replace(/\//g, '-')}-390`);
      expectNoConsoleErrors(ui);
      await ui.page.context().close();
    }
    const ui = await openPage(browser, `${env.url}/deployments/mnist`, DESKTOP, { allowHttpErrors: [/\/api\/v1\/deployments\/mnist/] });
    await ui.page.click('button:has-text("Delete")');
    await ui.page.click('button:has-text("Yes, delete")');
    await ui.page.waitForURL(`${env.url}/deployments`, { timeout: 60_000 });
    expect((await api(env.url, 'GET', '/api/v1/deployments/mnist')).status).toBe(404);
    await ui.page.waitForSelector('tr[data-deployment="rows"]');
    expect(await ui.page.locator('tr[data-deployment="mnist"]').count()).toBe(0);
    await ui.page.context().close();
  }, 120_000);
});
