/**
 * Training runs as a user sees them, one epoch and a hundred: the metric charts on the task
 * page and the model page (axis ranges and ticks read from the rendered SVG), the Models list
 * (what was trained on what, how well, with which parameters; not the storage table's
 * columns) and the model's Parameters panel (everything shown, nothing cut off).
 * The runs are real tasks (scripts/train_curve.py) that read a dataset and write a model.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, DESKTOP, type E2EServer, expectNoConsoleErrors, launchBrowser, mnistLike, openPage, PHONE, putDataset, screenshot, settled, startE2EServer, until } from './helpers.ts';

let env: E2EServer;
let browser: Browser;
const runs: Record<'one' | 'hundred', string> = { one: '', hundred: '' };

const train = async (epochs: number, output: string): Promise<string> => {
  const r = await api(env.url, 'POST', '/api/v1/tasks', { name: output, script: 'train_curve.py', input: 'digits', output, params: { epochs } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = r.body.id as string;
  const t = await until(`${output} to finish`, async () => {
    const t = (await api(env.url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, 60_000);
  expect(t.status, JSON.stringify(t.error)).toBe('completed');
  return id;
};

beforeAll(async () => {
  env = await startE2EServer('lakeray-e2e-charts-', 4);
  browser = await launchBrowser();
  await putDataset(env.url, 'digits', mnistLike(40));
  [runs.one, runs.hundred] = await Promise.all([train(1, 'curve_1'), train(100, 'curve_100')]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

interface ChartReading {
  yTicks: number[];
  xTicks: string[];
  /** Markers drawn for a lone point, and the values written next to them. */
  markers: number;
  markerLabels: string[];
  /** Points in each drawn line. */
  linePoints: number[];
  xLabelsOverlap: boolean;
}

/**
 * The chart under the heading `title`, read from its SVG: the x tick labels are the bottom row
 * of axis labels, the y tick labels the others.
 */
const readChart = async (page: Page, title: string): Promise<ChartReading> =>
  (await page.evaluate((title: string) => {
    const card = [...document.querySelectorAll('.chart-card')].find((c) => c.querySelector('h3 span')?.textContent?.trim().toLowerCase() === title);
    if (!card) throw new Error(`no chart "${title}"`);
    const svg = card.querySelector('svg.chart')!;
    const labels = [...svg.querySelectorAll('text.axis-label')];
    const bottom = Math.max(...labels.map((l) => Number(l.getAttribute('y'))));
    const xs = labels.filter((l) => Number(l.getAttribute('y')) === bottom);
    const boxes = xs.map((l) => (l as SVGGraphicsElement).getBoundingClientRect());
    const markers = [...svg.querySelectorAll('circle')].filter((c) => Number(c.getAttribute('r')) >= 4);
    return {
      yTicks: labels.filter((l) => !xs.includes(l)).map((l) => Number(l.textContent)),
      xTicks: xs.map((l) => l.textContent ?? ''),
      markers: markers.length,
      markerLabels: [...svg.querySelectorAll('text:not(.axis-label)')].map((t) => t.textContent ?? ''),
      linePoints: [...svg.querySelectorAll('path:not(.area)')].map((p) => (p.getAttribute('d')?.match(/[ML]/g) ?? []).length).filter((n) => n > 1),
      xLabelsOverlap: boxes.some((a, i) => boxes.slice(i + 1).some((b) => a.right > b.left && b.right > a.left)),
    };
  }, title.toLowerCase())) as ChartReading;

const open = async (path: string, viewport = DESKTOP) => {
  const ui = await openPage(browser, `${env.url}${path}`, viewport);
  await ui.page.waitForSelector('svg.chart');
  await settled(ui.page);
  return ui;
};

const expectRoundTicks = (ticks: number[]) => {
  const steps = ticks.slice(1).map((t, i) => Number((t - ticks[i]!).toPrecision(6)));
  expect(new Set(steps).size, `uneven ticks ${ticks}`).toBe(1);
  const mantissa = steps[0]! / 10 ** Math.floor(Math.log10(steps[0]!));
  expect([1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-6), `step ${steps[0]}`).toBe(true);
};

describe('metric charts of a training run', () => {
  it('draws a one-epoch run as a marker with its value, the accuracy axis within [0, 1]', async () => {
    for (const [where, path, accuracy, loss] of [
      ['task', `/tasks/${runs.one}`, 'test_accuracy', 'train_loss'],
      ['model', '/models/curve_1', 'test accuracy', 'loss'],
    ] as const) {
      const ui = await open(path);
      const acc = await readChart(ui.page, accuracy);
      expect(Math.max(...acc.yTicks), `${where}: ${acc.yTicks}`).toBeLessThanOrEqual(1);
      expect(Math.min(...acc.yTicks)).toBeGreaterThanOrEqual(0);
      expect(acc.yTicks.some((t) => t < 0.7085) && acc.yTicks.some((t) => t > 0.7085)).toBe(true);
      expectRoundTicks(acc.yTicks);
      expect(acc.xTicks, where).toEqual(['1']);
      expect(acc.markers, where).toBe(1);
      expect(acc.markerLabels, where).toEqual(['0.7085']);
      const l = await readChart(ui.page, loss);
      expect(Math.min(...l.yTicks), where).toBeGreaterThanOrEqual(0);
      expect(l.markers, where).toBe(where === 'model' ? 2 : 1); // train and test loss share the model's chart
      await screenshot(ui.page, `chart-1-epoch-${where}`);
      expectNoConsoleErrors(ui);
      await ui.page.context().close();
    }
  }, 60_000);

  it('draws a hundred-epoch run as readable lines: round ticks, whole epochs, accuracy within [0, 1]', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      for (const [where, path, accuracy] of [
        ['task', `/tasks/${runs.hundred}`, 'test_accuracy'],
        ['model', '/models/curve_100', 'test accuracy'],
      ] as const) {
        const ui = await open(path, viewport);
        const acc = await readChart(ui.page, accuracy);
        expect(acc.yTicks.length).toBeLessThanOrEqual(7);
        expect(Math.max(...acc.yTicks), `${where}: ${acc.yTicks}`).toBeLessThanOrEqual(1);
        expect(Math.min(...acc.yTicks)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...acc.yTicks)).toBeGreaterThanOrEqual(0.98);
        expectRoundTicks(acc.yTicks);
        expect(acc.linePoints).toEqual([100]);
        expect(acc.xTicks.length).toBeLessThanOrEqual(7);
        expect(acc.xTicks.every((t) => /^\d+$/.test(t)), `${acc.xTicks}`).toBe(true);
        expect(acc.xTicks.at(-1)).toBe('100');
        expect(acc.xLabelsOverlap).toBe(false);
        if (viewport === DESKTOP) await screenshot(ui.page, `chart-100-epochs-${where}`);
        expectNoConsoleErrors(ui);
        await ui.page.context().close();
      }
    }
  }, 60_000);
});

describe('models as a user of models sees them', () => {
  it('lists version, metrics, parameters, size and what each was trained on, not storage columns', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const ui = await openPage(browser, `${env.url}/models`, viewport);
      const row = ui.page.locator('tr', { has: ui.page.locator('a[href="/models/curve_100"]') });
      await row.waitFor();
      await settled(ui.page);
      const headers = await ui.page.locator('table thead th').allTextContents();
      expect(headers).toEqual(['Model', 'Version', 'Metrics', 'Parameters', 'Size', 'Updated']);
      expect(await ui.page.locator('main').textContent()).not.toMatch(/Columns/i);
      const metrics = (await row.locator('[data-testid="metrics"]').textContent()) ?? '';
      expect(metrics).toContain('accuracy 98.0%');
      expect(metrics).toContain('loss');
      const params = (await row.locator('[data-testid="params"]').textContent()) ?? '';
      expect(params).toMatch(/epochs\s*100/);
      expect(params).toMatch(/learning rate\s*0\.01/);
      expect(await row.locator('[data-testid="trained-on"]').textContent()).toBe('digits@v1');
      expect(await row.locator('td[data-label="Size"]').textContent()).toMatch(/^\d+(\.\d)? (B|KiB|MiB)$/);
      await screenshot(ui.page, `models-list${viewport === PHONE ? '-375' : ''}`);
      expect((await ui.page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(viewport.width);
      expectNoConsoleErrors(ui);
      await ui.page.context().close();
    }
  }, 60_000);

  it("shows every parameter of a model, nothing clipped or scrolled away", async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const ui = await open('/models/curve_100', viewport);
      const panel = ui.page.locator('section.card', { has: ui.page.locator('h2', { hasText: /^Parameters$/ }) });
      const text = (await panel.textContent()) ?? '';
      for (const name of ['T-shirt/top', 'Sandal', 'Ankle boot', 'learning_rate', 'dropout', 'optimizer']) expect(text).toContain(name);
      // No box inside the panel holds more than it shows (a scrolling <pre> did).
      const clipped = (await panel.evaluate((el) =>
        [el, ...el.querySelectorAll('*')]
          .filter((e) => {
            const s = getComputedStyle(e);
            return s.overflowX !== 'visible' || s.overflowY !== 'visible';
          })
          .filter((e) => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1)
          .map((e) => `${e.tagName}.${e.className}: ${e.scrollWidth}×${e.scrollHeight} in ${e.clientWidth}×${e.clientHeight}`),
      )) as string[];
      expect(clipped).toEqual([]);
      // The last class name is on screen inside the panel, not cut off by its edge.
      const box = (await panel.boundingBox())!;
      const last = (await panel.getByText('Ankle boot', { exact: true }).boundingBox())!;
      expect(last.y + last.height).toBeLessThanOrEqual(box.y + box.height);
      await screenshot(ui.page, `model-params${viewport === PHONE ? '-375' : ''}`);
      expectNoConsoleErrors(ui);
      await ui.page.context().close();
    }
  }, 60_000);
});
