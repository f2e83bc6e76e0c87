/**
 * The Draw page against a real MNIST model: Fashion-MNIST is ingested into the lake, a small
 * CNN is trained on part of it (two short epochs, so the model page has a history to chart)
 * and served as a service task; then a drawing made with pointer events in Chromium gets a
 * prediction through the platform's proxy. Both drawing pages, the app's and the service's
 * own (examples/mnist/index.html), say what the model knows; the service's page loads without
 * a console error (no favicon 404) and looks like the app. Needs Debian's
 * dataset-fashion-mnist (skipped without it) and the project venv's torch.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, DESKTOP, type E2EServer, expectNoConsoleErrors, launchBrowser, openPage, PHONE, screenshot, settled, startE2EServer, until } from './helpers.ts';

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const PHONE_390 = { width: 390, height: 844 };

const FASHION = '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(FASHION);

let env: E2EServer;
let browser: Browser;
const ids: Record<string, string> = {};

const submit = async (body: Record<string, unknown>): Promise<string> => {
  const r = await api(env.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
};

const succeeded = async (id: string, ms: number) => {
  const t = await until(`task ${id}`, async () => {
    const t = (await api(env.url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms, 200);
  expect(t.status, JSON.stringify(t.error)).toBe('completed');
};

beforeAll(async () => {
  env = await startE2EServer('lakeray-e2e-draw-', 4);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe.runIf(haveData)('Draw page with a served MNIST model', () => {
  it('trains and serves a model (ingest → train → serve), shown on the model page with its history', async () => {
    ids.ingest = await submit({ name: 'mnist_ingestion', script: 'mnist/mnist_clean.py', output: 'mnist_clean', params: { normalize: true, flatten: true } });
    await succeeded(ids.ingest, 120_000);
    ids.train = await submit({
      name: 'mnist_cnn_v1',
      script: 'mnist/mnist_cnn.py',
      input: 'mnist_clean',
      output: 'mnist_cnn_v1',
      params: { epochs: 2, limit_train: 3000, limit_test: 1000, batch_size: 64, device: 'cpu', log_every: 5 },
      resources: { cpu: 2 },
    });
    await succeeded(ids.train, 300_000);
    ids.serve = await submit({ name: 'mnist_serve', script: 'mnist/mnist_serve.py', input: 'mnist_cnn_v1', params: { device: 'cpu' }, service: { health_path: '/health' } });
    await until('the service to be ready', async () => {
      const s = (await api(env.url, 'GET', '/api/v1/services')).body.services as { task_id: string; state: string }[];
      return s.some((x) => x.task_id === ids.serve && x.state === 'ready');
    }, 120_000, 250);

    for (const viewport of [DESKTOP, PHONE]) {
      const suffix = viewport === PHONE ? '-375' : '';
      const model = await openPage(browser, `${env.url}/models/mnist_cnn_v1`, viewport);
      await model.page.waitForSelector('svg.chart');
      await model.page.waitForSelector(`a[href^="/datasets/mnist_clean?version="]`);
      await model.page.waitForSelector(`a[href="/tasks/${ids.train}"]`);
      await settled(model.page);
      await screenshot(model.page, `model${suffix}`);
      expectNoConsoleErrors(model);
      await model.page.context().close();

      const training = await openPage(browser, `${env.url}/tasks/${ids.train}`, viewport);
      await training.page.waitForSelector('svg.chart');
      await settled(training.page);
      await screenshot(training.page, `task-training${suffix}`);
      expectNoConsoleErrors(training);
      await training.page.context().close();

      const dataset = await openPage(browser, `${env.url}/datasets/mnist_clean`, viewport);
      await dataset.page.waitForSelector('canvas.pixel-cell');
      await settled(dataset.page);
      await screenshot(dataset.page, `dataset-mnist${suffix}`);
      expectNoConsoleErrors(dataset);
      await dataset.page.context().close();
    }
  }, 600_000);

  it('draws with the pointer and shows the model\'s prediction with a bar per class', async () => {
    const ui = await openPage(browser, `${env.url}/draw`);
    const pad = await ui.page.waitForSelector('[data-testid="draw-pad"]', { timeout: 15_000 });
    await ui.page.waitForSelector('.prob-bars li >> nth=9');
    const box = (await pad.boundingBox())!;
    // A tall vertical bar with two legs: trousers, or a 1 for a digits model.
    const stroke = async (points: [number, number][]) => {
      await ui.page.mouse.move(box.x + points[0]![0] * box.width, box.y + points[0]![1] * box.height);
      await ui.page.mouse.down();
      for (const [x, y] of points.slice(1)) await ui.page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 8 });
      await ui.page.mouse.up();
    };
    await stroke([
      [0.4, 0.15],
      [0.37, 0.85],
    ]);
    await stroke([
      [0.6, 0.15],
      [0.63, 0.85],
    ]);
    await stroke([
      [0.4, 0.15],
      [0.6, 0.15],
    ]);
    await ui.page.waitForFunction(`document.querySelector('[data-testid="prediction"]').textContent !== '—'`, undefined, { timeout: 15_000 });
    const top = await ui.page.locator('.prob-bars li[data-top="true"]').count();
    expect(top).toBe(1);
    const pcts = await ui.page.locator('.prob-bars .pct').allTextContents();
    expect(pcts).toHaveLength(10);
    expect(pcts.every((p) => /%$/.test(p))).toBe(true);
    // The 28×28 preview holds the preprocessed drawing (ink in the middle).
    const ink = (await ui.page.evaluate(`(() => {
      const c = document.querySelector('canvas.pad-preview');
      const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 64) n++;
      return n;
    })()`)) as number;
    expect(ink).toBeGreaterThan(20);
    await screenshot(ui.page, 'draw-prediction');

    // Escape clears; Enter on an empty pad says what to do.
    await pad.focus();
    await ui.page.keyboard.press('Escape');
    await ui.page.waitForFunction(`document.querySelector('[data-testid="prediction"]').textContent === '—'`);
    await ui.page.keyboard.press('Enter');
    await ui.page.waitForSelector('text=Draw something first.');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 60_000);
  it('says on the Draw page what the model knows: the 10 Fashion-MNIST classes, not digits', async () => {
    for (const viewport of [DESKTOP, PHONE_390]) {
      const ui = await openPage(browser, `${env.url}/draw`, viewport);
      const knows = ui.page.locator('[data-testid="model-knows"]');
      await knows.waitFor({ timeout: 15_000 });
      const text = (await knows.textContent()) ?? '';
      expect(text).toContain('Fashion-MNIST');
      expect(text).toMatch(/10 kinds of clothing/);
      for (const c of FASHION_CLASSES) expect(text).toContain(c);
      // Nothing on the page invites a digit any more (the subtitle said "Draw a digit").
      const subtitle = (await ui.page.locator('.page-header .subtitle').textContent()) ?? '';
      expect(subtitle).not.toMatch(/digit/i);
      await screenshot(ui.page, `draw-model-knows${viewport === PHONE_390 ? '-390' : ''}`);
      expectNoConsoleErrors(ui);
      await ui.page.context().close();
    }
  }, 60_000);

  /** Computed styles that make the look: the primary button, a card, the page's font. */
  const look = (page: Page, button: string, card: string) =>
    page.evaluate(
      ([button, card]) => {
        const b = getComputedStyle(document.querySelector(button!)!);
        const c = getComputedStyle(document.querySelector(card!)!);
        return {
          buttonBackground: b.backgroundColor,
          buttonRadius: b.borderRadius,
          buttonWeight: b.fontWeight,
          cardRadius: c.borderRadius,
          cardBorder: c.borderTopColor,
          font: getComputedStyle(document.body).fontFamily,
          background: getComputedStyle(document.body).backgroundColor,
        };
      },
      [button, card],
    );

  it("serves the model's own page through the proxy with a favicon, no console errors, and the app's look", async () => {
    const app = await openPage(browser, `${env.url}/draw`);
    await app.page.waitForSelector('.prob-bars li >> nth=9', { timeout: 15_000 });
    const appLook = await look(app.page, '.btn-primary', '.card');
    await app.page.context().close();

    for (const viewport of [DESKTOP, PHONE_390]) {
      const ui = await openPage(browser, 'about:blank', viewport);
      const failed: string[] = [];
      ui.page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      ui.page.on('requestfailed', (r) => failed.push(`failed ${r.url()}`));
      await ui.page.goto(`${env.url}/api/v1/services/${ids.serve}/`);
      // The page has read the model's classes (and rebuilt its bars) before anyone draws.
      await ui.page.waitForFunction(`!/loading/.test(document.getElementById('model-info').textContent)`, undefined, { timeout: 15_000 });
      // Draw and predict, so every request the page makes has been made.
      const box = (await ui.page.locator('#pad').boundingBox())!;
      await ui.page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.2);
      await ui.page.mouse.down();
      await ui.page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.8, { steps: 10 });
      await ui.page.mouse.up();
      await ui.page.waitForFunction(`document.getElementById('label').textContent !== '—'`, undefined, { timeout: 15_000 });
      await ui.page.waitForLoadState('networkidle');
      expect(failed).toEqual([]);
      expectNoConsoleErrors(ui);
      expect(await ui.page.locator('link[rel="icon"]').count()).toBe(1);
      expect(await look(ui.page, '#predict', '.card')).toEqual(appLook);
      expect(await ui.page.locator('#knows').textContent()).toContain('10 kinds of clothing');
      await screenshot(ui.page, `mnist-service-page${viewport === PHONE_390 ? '-390' : ''}`);
      await ui.page.context().close();
    }
  }, 60_000);
});
