/**
 * The video-generation flow in a real browser (seeds 000/001): type a prompt, Generate, see
 * "Queued" at once, then a live progress bar up to 100 %, then a <video> that plays and seeks;
 * and a generation that waits in the queue, starts, and is cancelled from the UI.
 *
 * These need the video backend (/v1/video/*): without it they are skipped, and they run as
 * soon as the server has it. The server here has one CPU slot, so a second generation queues.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, expectNoConsoleErrors, launchBrowser, openPage, PHONE, screenshot, startE2EServer, until, videoBackendReady } from './helpers.ts';

const env = await startE2EServer('lakeray-e2e-video-', 1);
const backendReady = await videoBackendReady(env.url);
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await env.close();
});

/** Records every status the result stage shows, from before the click on. */
const recordStatuses = (page: Page) =>
  page.evaluate(`(() => {
    window.__statuses = [];
    const seen = () => {
      const s = document.querySelector('section.stage')?.dataset.status;
      if (s && window.__statuses[window.__statuses.length - 1] !== s) window.__statuses.push(s);
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  })()`);

const statuses = async (page: Page): Promise<string[]> => (await page.evaluate('window.__statuses')) as string[];

const generationStatus = async (id: string): Promise<string> => (await api(env.url, 'GET', `/v1/video/generations/${id}`)).body.status as string;

describe('video generation in the UI', () => {
  it.skipIf(!backendReady)('generates a video: queued at once, a live progress bar to 100 %, then a video that plays and seeks', async () => {
    const ui = await openPage(browser, `${env.url}/`);
    await ui.page.waitForSelector('#model option:not([value=""])', { state: 'attached' });
    await ui.page.fill('#prompt', 'A red fox running through a snowy forest at dawn, cinematic');
    await recordStatuses(ui.page);
    await ui.page.click('[data-testid="generate"]');

    // At once: queued, with the generation in the URL.
    await ui.page.waitForSelector('section.stage[data-status]');
    expect((await statuses(ui.page))[0]).toBe('QUEUED');
    expect(ui.page.url()).toMatch(/\?generation=/);

    // Live progress up to 100 %, then the player.
    await ui.page.waitForSelector('section.stage[data-status="SUCCEEDED"]', { timeout: 60_000 });
    const seen = await statuses(ui.page);
    expect(seen).toContain('RUNNING');
    expect(seen[seen.length - 1]).toBe('SUCCEEDED');
    const bar = ui.page.locator('section.stage [role="progressbar"][aria-label="Generation progress"]');
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');

    const video = 'section.stage video';
    await ui.page.waitForSelector(video);
    await ui.page.waitForFunction(`document.querySelector('${video}').readyState >= 2`, undefined, { timeout: 20_000 });
    const duration = (await ui.page.evaluate(`document.querySelector('${video}').duration`)) as number;
    expect(duration).toBeGreaterThan(0);
    expect(await ui.page.getAttribute(video, 'poster')).toBeTruthy();
    // Seek to the middle: the server answers the Range request and the element lands there.
    const landed = (await ui.page.evaluate(`new Promise((resolve, reject) => {
      const v = document.querySelector('${video}');
      const t = setTimeout(() => reject(new Error('no seeked event')), 10000);
      v.addEventListener('seeked', () => { clearTimeout(t); resolve(v.currentTime); }, { once: true });
      v.currentTime = v.duration / 2;
    })`)) as number;
    expect(Math.abs(landed - duration / 2)).toBeLessThan(0.6);
    await ui.page.waitForSelector('section.stage a:text("Download")');
    await screenshot(ui.page, 'generate-done');

    // The gallery lists it with its cover.
    await ui.page.waitForSelector('.gallery-item[aria-current="true"] img');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 120_000);

  it.skipIf(!backendReady)('shows the queue position while waiting, then progress, and cancels a running generation', async () => {
    // A long generation holds the only slot, so the one from the UI waits behind it.
    const blocker = await api(env.url, 'POST', '/v1/video/generations', { prompt: 'the slot holder', num_frames: 480, size: '1280*720' });
    expect(blocker.status, JSON.stringify(blocker.body)).toBe(202);
    const blockerId = blocker.body.task_id as string;
    await until('the blocker to run', async () => (await generationStatus(blockerId)) === 'RUNNING', 30_000);

    const ui = await openPage(browser, `${env.url}/`, PHONE);
    await ui.page.waitForSelector('#model option:not([value=""])', { state: 'attached' });
    await ui.page.fill('#prompt', 'Waves rolling onto a beach under a purple sky');
    await ui.page.selectOption('#size', '1280*720'); // long enough to be cancelled while it runs
    await ui.page.click('summary:text("Advanced")');
    await ui.page.fill('#frames', '480');
    await ui.page.click('[data-testid="generate"]');
    await ui.page.waitForSelector('section.stage[data-status="QUEUED"]');
    await ui.page.waitForSelector('[data-testid="queue-position"]:text("Next in line")', { timeout: 10_000 });
    await screenshot(ui.page, 'generate-queued-375');
    const id = new URL(ui.page.url()).searchParams.get('generation')!;
    expect(await generationStatus(id)).toBe('QUEUED');

    // The slot frees up: the waiting one starts and its bar moves.
    await api(env.url, 'DELETE', `/v1/video/generations/${blockerId}`);
    await ui.page.waitForSelector('section.stage[data-status="RUNNING"]', { timeout: 30_000 });
    await ui.page.waitForFunction(`Number(document.querySelector('[data-testid="progress-percent"]')?.textContent.replace('%', '')) >= 1`, undefined, { timeout: 30_000 });
    await screenshot(ui.page, 'generate-running-375');

    await ui.page.click('section.stage button:text("Cancel")');
    await ui.page.waitForSelector('section.stage[data-status="CANCELLED"]', { timeout: 30_000 });
    await ui.page.waitForSelector('section.stage h2:text("Cancelled")');
    expect(await generationStatus(id)).toBe('CANCELLED');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 120_000);

  it.skipIf(!backendReady)('uploads a start image by drag and drop, and generates from it', async () => {
    const ui = await openPage(browser, `${env.url}/`);
    await ui.page.waitForSelector('#model option:not([value=""])', { state: 'attached' });
    // A 4×4 PNG dropped on the zone.
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4YaMBRwzEcQDxwxLBXOwG1wAAAABJRU5ErkJggg==';
    const dataTransfer = await ui.page.evaluateHandle(`(() => {
      const bytes = Uint8Array.from(atob('${png}'), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'start.png', { type: 'image/png' }));
      return dt;
    })()`);
    await ui.page.dispatchEvent('.dropzone', 'drop', { dataTransfer });
    await ui.page.waitForSelector('.image-chip :text("Uploaded")', { timeout: 10_000 });
    await ui.page.fill('#prompt', 'The picture comes alive');
    await ui.page.click('[data-testid="generate"]');
    await ui.page.waitForSelector('section.stage[data-status="SUCCEEDED"]', { timeout: 60_000 });
    const id = new URL(ui.page.url()).searchParams.get('generation')!;
    expect((await api(env.url, 'GET', `/v1/video/generations/${id}`)).body.image).toMatch(/./);
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  }, 120_000);
});
