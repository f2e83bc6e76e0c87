/**
 * The web UI in a real browser against the real server: every page renders without console
 * errors at desktop and phone widths (screenshots in test/e2e/screenshots/), the Tasks page is
 * live and cancels, a dataset's MNIST-like rows are drawn as pictures, the keyboard reaches
 * Generate, and an unreachable API is explained rather than shown as a blank page.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  DESKTOP,
  type E2EServer,
  expectNoConsoleErrors,
  launchBrowser,
  mnistLike,
  openPage,
  PHONE,
  putDataset,
  screenshot,
  settled,
  startE2EServer,
  until,
} from './helpers.ts';

let env: E2EServer;
let browser: Browser;
const ids: Record<string, string> = {};

const submit = async (body: Record<string, unknown>): Promise<string> => {
  const r = await api(env.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
};

const taskStatus = async (id: string): Promise<string> => (await api(env.url, 'GET', `/api/v1/tasks/${id}`)).body.status as string;

const finished = (id: string) => until(`task ${id} to finish`, async () => (['completed', 'failed', 'cancelled'].includes(await taskStatus(id)) ? true : null), 30_000);

/** How far the page sticks out sideways past the viewport (0 when it fits: the 375 px check). */
const overflow = async (page: Page, width: number): Promise<number> => ((await page.evaluate('document.documentElement.scrollWidth')) as number) - width;

beforeAll(async () => {
  env = await startE2EServer('lakeray-e2e-ui-', 4);
  browser = await launchBrowser();
  await putDataset(env.url, 'digits', mnistLike(60));
  ids.done = await submit({ name: 'train_small', script: 'steps.py', params: { steps: 12, step_s: 0.02 }, labels: { team: 'vision' } });
  ids.failed = await submit({ name: 'train_diverges', script: 'steps.py', params: { steps: 10, step_s: 0.01, fail_at: 3 } });
  await finished(ids.done);
  await finished(ids.failed);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('web UI', () => {
  it('renders every page without console errors, at desktop and 375 px widths', async () => {
    // One task running and one waiting behind it, so the tables show every state.
    ids.running = await submit({ name: 'train_long', script: 'steps.py', params: { steps: 2000, step_s: 0.05 }, resources: { cpu: 3 } });
    await until('train_long to run', async () => (await taskStatus(ids.running!)) === 'running');
    ids.queued = await submit({ name: 'train_waiting', script: 'steps.py', params: { steps: 5 }, resources: { cpu: 2 } });
    expect(await taskStatus(ids.queued)).toBe('pending');

    const pages: { name: string; path: string; ready: string }[] = [
      { name: 'generate', path: '/', ready: '[data-testid="generate"]' },
      { name: 'tasks', path: '/tasks', ready: `tr[data-task-id="${ids.queued}"]` },
      { name: 'task', path: `/tasks/${ids.done}`, ready: 'svg.chart' },
      { name: 'task-running', path: `/tasks/${ids.running}`, ready: '.log-line' },
      { name: 'task-failed', path: `/tasks/${ids.failed}`, ready: '.timeline li' },
      { name: 'datasets', path: '/datasets', ready: 'a[href="/datasets/digits"]' },
      { name: 'dataset', path: '/datasets/digits', ready: 'canvas.pixel-cell' },
      { name: 'models', path: '/models', ready: '.empty' },
      { name: 'draw', path: '/draw', ready: '.empty' },
      { name: 'not-found', path: '/no/such/page', ready: '.empty' },
    ];
    const tooWide: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      for (const p of pages) {
        const ui = await openPage(browser, `${env.url}${p.path}`, viewport);
        await ui.page.waitForSelector(p.ready, { timeout: 15_000 });
        await ui.page.waitForSelector('h1');
        await settled(ui.page);
        await screenshot(ui.page, `${p.name}${viewport === PHONE ? '-375' : ''}`);
        const over = await overflow(ui.page, viewport.width);
        if (over > 0) tooWide.push(`${p.name} at ${viewport.width}px: ${over}px too wide`);
        expectNoConsoleErrors(ui);
        await ui.page.context().close();
      }
    }
    expect(tooWide).toEqual([]);
  }, 180_000);

  it('navigates between pages without reloading, and the back button works', async () => {
    const ui = await openPage(browser, `${env.url}/`);
    await ui.page.evaluate('window.__sameDocument = true');
    await ui.page.click('nav[aria-label="Main"] >> text=Datasets');
    await ui.page.waitForSelector('a[href="/datasets/digits"]');
    await ui.page.click('a[href="/datasets/digits"]');
    await ui.page.waitForSelector('canvas.pixel-cell');
    expect(await ui.page.title()).toContain('digits');
    await ui.page.goBack();
    await ui.page.waitForSelector('h1:text("Datasets")');
    expect(await ui.page.evaluate('window.__sameDocument')).toBe(true);
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  });

  it('shows a submitted task on the Tasks page live, and cancels it from there', async () => {
    await api(env.url, 'POST', `/api/v1/tasks/${ids.running}/cancel`);
    await api(env.url, 'POST', `/api/v1/tasks/${ids.queued}/cancel`);
    await finished(ids.running!);

    const ui = await openPage(browser, `${env.url}/tasks`);
    await ui.page.waitForSelector(`tr[data-task-id="${ids.done}"]`);
    await ui.page.waitForFunction('document.querySelector(".live")?.dataset.state === "open"');
    const id = await submit({ name: 'watch_me', script: 'steps.py', params: { steps: 1200, step_s: 0.05 } });
    const row = `tr[data-task-id="${id}"]`;
    // No reload: the row arrives over the WebSocket, then runs with a moving bar.
    await ui.page.waitForSelector(`${row}[data-status="running"]`, { timeout: 15_000 });
    const bar = `${row} [role="progressbar"]`;
    const first = Number(await ui.page.waitForSelector(`${bar}[aria-valuenow]`).then((e) => e.getAttribute('aria-valuenow')));
    await ui.page.waitForFunction(`Number(document.querySelector('${bar}')?.getAttribute('aria-valuenow')) > ${first}`, undefined, { timeout: 15_000 });
    await screenshot(ui.page, 'tasks-live');

    await ui.page.click(`${row} button:text("Cancel")`);
    await ui.page.waitForSelector(`${row}[data-status="cancelled"]`, { timeout: 15_000 });
    expect(await taskStatus(id)).toBe('cancelled');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 60_000);

  it('follows a running task on its page: live logs, metrics charts, then the result', async () => {
    const id = await submit({ name: 'follow_me', script: 'steps.py', params: { steps: 30, step_s: 0.1 } });
    const ui = await openPage(browser, `${env.url}/tasks/${id}`);
    await ui.page.waitForSelector('.log-line');
    await ui.page.waitForSelector('[role="progressbar"][aria-label="Task progress"]');
    await ui.page.waitForSelector('.badge[data-status="completed"]', { timeout: 20_000 });
    await ui.page.waitForSelector('text=Result');
    expect(await ui.page.locator('.log-line').count()).toBeGreaterThanOrEqual(30);
    // Following the log kept it scrolled to the newest line all along.
    expect(await ui.page.isChecked('label:has-text("Follow") input')).toBe(true);
    expect(await ui.page.evaluate(`(() => { const l = document.querySelector('.logs'); return l.scrollHeight - l.scrollTop - l.clientHeight; })()`)).toBeLessThan(8);
    expect(await ui.page.locator('svg.chart').count()).toBe(2);
    await ui.page.waitForSelector('.artifact a:text("chart.svg")');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 60_000);

  it("draws a dataset's MNIST-like image column as 28×28 pictures, page by page", async () => {
    const ui = await openPage(browser, `${env.url}/datasets/digits`);
    await ui.page.waitForSelector('canvas.pixel-cell');
    expect(await ui.page.locator('canvas.pixel-cell').count()).toBe(25);
    // The picture has ink: a canvas of 28×28 with bright pixels (the ring), not a black square.
    const bright = (await ui.page.evaluate(`(() => {
      const c = document.querySelector('canvas.pixel-cell');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
      return [c.width, c.height, n];
    })()`)) as number[];
    expect(bright.slice(0, 2)).toEqual([28, 28]);
    expect(bright[2]).toBeGreaterThan(20);
    await ui.page.click('button:text("Next")');
    await ui.page.waitForSelector('text=Rows 26–50 of 60');
    await ui.page.selectOption('#page-size', '10');
    await ui.page.waitForSelector('text=Rows 1–10 of 60');
    expect(await ui.page.locator('canvas.pixel-cell').count()).toBe(10);
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  });

  it('reaches the Generate button with the keyboard alone, with a visible focus ring', async () => {
    const ui = await openPage(browser, `${env.url}/`);
    await ui.page.waitForSelector('[data-testid="generate"]');
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await ui.page.keyboard.press('Tab');
      reached = (await ui.page.evaluate('document.activeElement?.dataset?.testid === "generate"')) as boolean;
    }
    expect(reached, 'Tab never reached the Generate button').toBe(true);
    const outline = (await ui.page.evaluate('getComputedStyle(document.activeElement).outlineStyle')) as string;
    expect(outline).not.toBe('none');
    // Enter on it with no prompt: told what is missing, and focus goes to the prompt.
    await ui.page.keyboard.press('Enter');
    await ui.page.waitForSelector('#prompt-error');
    expect(await ui.page.evaluate('document.activeElement?.id')).toBe('prompt');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  });

  it('explains an unreachable API instead of showing a blank page', async () => {
    const ui = await openPage(browser, 'about:blank', DESKTOP, { allowHttpErrors: [/./] });
    await ui.page.route('**/api/v1/tasks?*', (route) => route.abort('connectionrefused'));
    await ui.page.goto(`${env.url}/tasks`);
    await ui.page.waitForSelector('text=The Lakeray API is not reachable');
    await ui.page.waitForSelector('button:text("Try again")');
    await screenshot(ui.page, 'error-api-down');
    expect(ui.errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await ui.page.context().close();
  });

  it('answers an unknown task with a not-found state', async () => {
    const ui = await openPage(browser, `${env.url}/tasks/t_nope`, DESKTOP, { allowHttpErrors: [/\/api\/v1\/tasks\/t_nope/] });
    await ui.page.waitForSelector('text=No such task');
    await ui.page.context().close();
  });
});
