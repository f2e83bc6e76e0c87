/**
 * The Draw page against a real MNIST model: Fashion-MNIST is ingested into the lake, a small
 * CNN is trained on part of it (two short epochs, so the model page has a history to chart)
 * and served as a service task; then a drawing made with pointer events in Chromium gets a
 * prediction through the platform's proxy. Needs Debian's dataset-fashion-mnist (skipped
 * without it) and the project venv's torch.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, DESKTOP, type E2EServer, expectNoConsoleErrors, launchBrowser, openPage, PHONE, screenshot, settled, startE2EServer, until } from './helpers.ts';

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
    return ['succeeded', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms, 200);
  expect(t.status, JSON.stringify(t.error)).toBe('succeeded');
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
});
