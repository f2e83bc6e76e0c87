/**
 * Layout as a user sees it, measured in Chromium: the top bar is the same compact height on
 * every page of a phone (it used to grow to 244–277 px on short pages), the sidebar the same on
 * every page of a desktop; no select box cuts its text ("1280×720 · landsca"); and after
 * Generate with Advanced open, the result stage is on screen (it used to be scrolled away).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, DESKTOP, type E2EServer, expectNoConsoleErrors, launchBrowser, mnistLike, openPage, putDataset, screenshot, settled, startE2EServer, until, videoBackendReady } from './helpers.ts';

const PHONE_390 = { width: 390, height: 844 };
const TABLET = { width: 768, height: 1024 };

let env: E2EServer;
let browser: Browser;
let backendReady = false;
let taskId = '';

beforeAll(async () => {
  env = await startE2EServer('lakeray-e2e-layout-', 4);
  browser = await launchBrowser();
  backendReady = await videoBackendReady(env.url);
  await putDataset(env.url, 'digits', mnistLike(30));
  const r = await api(env.url, 'POST', '/api/v1/tasks', { name: 'short', script: 'steps.py', params: { steps: 3, step_s: 0.01 } });
  taskId = r.body.id as string;
  await until('the task to finish', async () => (await api(env.url, 'GET', `/api/v1/tasks/${taskId}`)).body.status === 'completed', 30_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

/** Every page of the app, with something that says it has loaded. */
const pages = (): { name: string; path: string; ready: string }[] => [
  { name: 'generate', path: '/', ready: '[data-testid="generate"]' },
  { name: 'tasks', path: '/tasks', ready: `tr[data-task-id="${taskId}"]` },
  { name: 'task', path: `/tasks/${taskId}`, ready: '.timeline li' },
  { name: 'datasets', path: '/datasets', ready: 'a[href="/datasets/digits"]' },
  { name: 'dataset', path: '/datasets/digits', ready: 'canvas.pixel-cell' },
  { name: 'models', path: '/models', ready: '.empty' },
  { name: 'draw', path: '/draw', ready: '.empty' },
  { name: 'not-found', path: '/no/such/page', ready: '.empty' },
];

/** Selects whose (selectable) option text is wider than the room the select gives it. */
const clippedSelects = (page: Page): Promise<string[]> =>
  page.evaluate(() => {
    const measure = document.createElement('canvas').getContext('2d')!;
    return [...document.querySelectorAll('select')].flatMap((s) => {
      const css = getComputedStyle(s);
      measure.font = css.font;
      const room = s.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight);
      return [...s.options]
        .filter((o) => !o.disabled)
        .map((o) => ({ text: o.text, width: measure.measureText(o.text).width }))
        .filter((o) => o.width > room)
        .map((o) => `#${s.id || s.name}: "${o.text}" needs ${Math.ceil(o.width)} px, has ${room}`);
    });
  });

const barOf = (page: Page) =>
  page.evaluate(() => {
    const r = document.querySelector('.sidebar')!.getBoundingClientRect();
    const nav = document.querySelector('nav[aria-label="Main"]')!.getBoundingClientRect();
    return { height: r.height, navTop: nav.top };
  });

describe('layout', () => {
  it('keeps the top bar compact and the same on every page, and no select cuts its text', async () => {
    const heights: Record<string, string[]> = {};
    const clipped: string[] = [];
    for (const viewport of [PHONE_390, TABLET, DESKTOP]) {
      for (const p of pages()) {
        const ui = await openPage(browser, `${env.url}${p.path}`, viewport);
        await ui.page.waitForSelector(p.ready, { timeout: 15_000, state: 'attached' });
        await settled(ui.page);
        const bar = await barOf(ui.page);
        const key = `${viewport.width}px`;
        (heights[key] ??= []).push(`${p.name} ${Math.round(bar.height)} (nav at ${Math.round(bar.navTop)})`);
        if (viewport !== DESKTOP) expect(bar.height, `${p.name} at ${key}`).toBeLessThanOrEqual(100);
        else expect(bar.height, `${p.name}: the sidebar is the window's height`).toBe(viewport.height);
        clipped.push(...(await clippedSelects(ui.page)).map((c) => `${p.name} at ${key}: ${c}`));
        if (viewport === PHONE_390) await screenshot(ui.page, `${p.name}-390`);
        expectNoConsoleErrors(ui);
        await ui.page.context().close();
      }
    }
    for (const [width, list] of Object.entries(heights)) {
      expect(new Set(list.map((l) => l.split(' ').slice(1).join(' '))).size, `${width}: ${list.join(', ')}`).toBe(1);
    }
    expect(clipped).toEqual([]);
  }, 180_000);

  it('shows the whole text of every size and model option on Generate', async () => {
    for (const viewport of [DESKTOP, PHONE_390]) {
      const ui = await openPage(browser, `${env.url}/`, viewport);
      await ui.page.waitForSelector('#model option', { state: 'attached' });
      if (backendReady) await ui.page.waitForSelector('#model option:not([value=""])', { state: 'attached' });
      const options = await ui.page.locator('#size option').allTextContents();
      expect(options.some((o) => /landscape/.test(o))).toBe(true);
      // Every size in turn as the chosen one, as the person would see it in the closed box.
      for (const value of await ui.page.locator('#size option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))) {
        await ui.page.selectOption('#size', value);
        expect(await clippedSelects(ui.page), `${viewport.width}px, size ${value}`).toEqual([]);
      }
      expectNoConsoleErrors(ui);
      await ui.page.context().close();
    }
  }, 60_000);

  it('keeps the result stage in view after Generate with Advanced open', async ({ skip }) => {
    if (!backendReady) skip('no video backend on this server');
    for (const viewport of [DESKTOP, PHONE_390]) {
      const ui = await openPage(browser, `${env.url}/`, viewport);
      await ui.page.waitForSelector('#model option:not([value=""])', { state: 'attached' });
      await ui.page.click('summary:text("Advanced")');
      await ui.page.fill('#prompt', 'A lighthouse on a cliff in a storm, waves crashing');
      await ui.page.fill('#frames', '24');
      await ui.page.locator('[data-testid="generate"]').scrollIntoViewIfNeeded();
      await ui.page.click('[data-testid="generate"]');
      for (const status of ['QUEUED|RUNNING', 'RUNNING|SUCCEEDED']) {
        await ui.page.waitForFunction(`new RegExp('^(${status})$').test(document.querySelector('section.stage')?.dataset.status ?? '')`, undefined, { timeout: 30_000 });
        await ui.page.waitForTimeout(300); // the reveal runs on the next frame
        const where = (await ui.page.evaluate(() => {
          const bar = document.querySelector('.sidebar')!.getBoundingClientRect();
          const stage = document.querySelector('section.stage')!.getBoundingClientRect();
          const barBottom = bar.width >= window.innerWidth * 0.9 ? bar.bottom : 0;
          return { top: stage.top, bottom: stage.bottom, barBottom, height: window.innerHeight, status: (document.querySelector('section.stage') as HTMLElement).dataset.status };
        })) as { top: number; bottom: number; barBottom: number; height: number; status: string };
        const label = `${viewport.width}px, ${where.status}: stage ${Math.round(where.top)}–${Math.round(where.bottom)}, view ${Math.round(where.barBottom)}–${where.height}`;
        expect(where.top, label).toBeGreaterThanOrEqual(where.barBottom - 1);
        expect(where.bottom, label).toBeLessThanOrEqual(where.height + 1);
      }
      await screenshot(ui.page, `generate-advanced-${viewport.width}`, { fullPage: false });
      expectNoConsoleErrors(ui);
      await ui.page.context().close();
    }
  }, 120_000);
});
