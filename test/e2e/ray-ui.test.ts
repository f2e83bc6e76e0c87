/**
 * Issue 12 §8 and §7 in a real browser: a task that ran as a Ray job on the run's real head
 * shows its executor, its Ray job id and a link to that job on the Ray dashboard; a Ray
 * executor pointed at a closed port is named as down on the Tasks page (and on its queued
 * task's page), while its task waits queued.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RayJobsClient } from '../../src/executors/ray/jobs-client.ts';
import { freePort } from '../helpers/server-process.ts';
import { rayUrl, SCRIPTS } from '../integration/ray/ray-job-fixture.ts';
import { api, type E2EServer, expectNoConsoleErrors, launchBrowser, openPage, screenshot, settled, startE2EServer, until } from './helpers.ts';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

let env: E2EServer;
let browser: Browser;
let head: string;
let closedPort: number;
let ray: RayJobsClient;

beforeAll(async () => {
  head = await rayUrl();
  ray = new RayJobsClient({ address: head });
  closedPort = await freePort();
  env = await startE2EServer('lakeray-e2e-ray-', 2, {
    scriptRoots: [SCRIPTS],
    executors: {
      ray: { kind: 'ray', mode: 'job', address: head, poll_ms: 200 },
      'ray-down': { kind: 'ray', mode: 'job', address: `http://127.0.0.1:${closedPort}`, capacity_refresh_ms: 500 },
    },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await env?.close();
  await ray?.close();
});

const submit = async (body: Record<string, unknown>): Promise<string> => {
  const r = await api(env.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
};

describe('Ray in the UI', () => {
  it("a task's page shows its Ray executor, its job id and the job's page on the Ray dashboard", async () => {
    const id = await submit({ script: 'echo.py', executor: 'ray', params: { n: 1 }, resources: { cpu: 1 } });
    const task = await until(
      'the Ray task to end',
      async () => {
        const t = (await api(env.url, 'GET', `/api/v1/tasks/${id}`)).body;
        return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
      },
      240_000,
      250,
    );
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    const job = `lr-${id}-1`;
    const link = `${head.replace(/\/$/, '')}/#/jobs/${job}`;
    expect(task).toMatchObject({ executor: 'ray', placement: { kind: 'ray-job', submission_id: job, dashboard_url: link } });
    expect(await ray.get(job)).toMatchObject({ submission_id: job, status: 'SUCCEEDED' }); // the link names a real job

    const ui = await openPage(browser, `${env.url}/tasks/${id}`);
    await ui.page.waitForSelector('[data-testid="ray-job"]', { timeout: 15_000 });
    await settled(ui.page);
    expect(await ui.page.textContent('dd[data-testid="task-executor"]')).toContain('ray · kind ray, mode job');
    expect((await ui.page.textContent('[data-testid="ray-job"]'))?.trim()).toBe(job);
    const a = ui.page.locator('a[data-testid="ray-dashboard-link"]');
    expect(await a.getAttribute('href')).toBe(link);
    expect(await a.textContent()).toContain('Ray dashboard');
    await screenshot(ui.page, 'task-ray');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();
  });

  it('names the Ray executor that is down on the Tasks page; its task waits queued and says why', async () => {
    const id = await submit({ script: 'echo.py', executor: 'ray-down', resources: { cpu: 1 } });
    const ui = await openPage(browser, `${env.url}/tasks`);
    const banner = ui.page.locator('[data-testid="executors-down"]');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toContain('Executor ray-down is down');
    expect(await banner.locator('li[data-executor="ray-down"]').textContent()).toContain(`Ray at http://127.0.0.1:${closedPort}`);
    expect(await banner.locator('li').count()).toBe(1); // the head that answers is not named
    const row = ui.page.locator(`tr[data-task-id="${id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('pending');
    expect((await row.locator('[data-testid="task-executor"]').textContent())?.trim()).toBe('ray-down');
    await screenshot(ui.page, 'tasks-executor-down');
    expectNoConsoleErrors(ui);
    await ui.page.context().close();

    const page = await openPage(browser, `${env.url}/tasks/${id}`);
    await page.page.locator('[data-testid="executors-down"] li[data-executor="ray-down"]').waitFor({ timeout: 30_000 });
    expect(await page.page.textContent('dd[data-testid="task-executor"]')).toContain('down');
    expectNoConsoleErrors(page);
    await page.page.context().close();
  });
});
