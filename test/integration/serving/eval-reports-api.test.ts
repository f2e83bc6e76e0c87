/** GET /api/v1/eval/reports[/{id}/{file}] on the app main.ts builds (real engine), over report folders written by writeReport. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPhase, timeSeries } from '../../../src/serving/eval/metrics.ts';
import { runId, writeReport } from '../../../src/serving/eval/report.ts';
import type { EvalSummary } from '../../../src/serving/eval/summary.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { type Platform, setup } from '../api/platform.ts';

function summary(at: string, sweep: boolean): EvalSummary {
  const records = Array.from({ length: 50 }, (_, i) => ({ start_ms: i * 40, latency_ms: 3 + (i % 7), error: i % 10 === 0 ? 'QUEUE_FULL' : null }));
  const phase = (name: string, kind: 'users' | 'batch', size: number) => ({
    name,
    kind,
    users: 2,
    duration_s: 2,
    started_at: at,
    config: { max_batch_size: size, batch_timeout_ms: 5, enable_dynamic_batching: true },
    ...countPhase(records, 2),
    mean_batch_size: 1.5,
    series: timeSeries(records, 2),
  });
  return {
    id: runId(new Date(at)),
    deployment: 'mnist',
    model: 'mnist_cnn@1',
    mode: 'request',
    users: 2,
    started_at: at,
    finished_at: at,
    interrupted: false,
    restored_settings: null,
    phases: sweep ? [phase('users', 'users', 8), phase('batch 1x5ms', 'batch', 1), phase('batch 8x5ms', 'batch', 8)] : [phase('users', 'users', 8)],
  };
}

let platform: Platform;
const dir = tempDir('eval-reports-');
const older = summary('2026-12-01T10:00:00.000Z', false);
const newer = summary('2026-12-02T10:00:00.000Z', true);

beforeAll(async () => {
  await writeReport(dir, older);
  await writeReport(dir, newer);
  // Not runs: a stray file, a folder without a summary, a folder whose summary is not JSON.
  writeFileSync(join(dir, 'notes.txt'), 'x');
  mkdirSync(join(dir, '2026-12-03T10-00-00-000Z'));
  mkdirSync(join(dir, '2026-12-04T10-00-00-000Z'));
  writeFileSync(join(dir, '2026-12-04T10-00-00-000Z', 'summary.json'), '{oops');
  platform = await setup({ evalResultsDir: dir });
}, 60_000);
afterAll(async () => platform?.close());

const get = (url: string) => platform.app.inject({ method: 'GET', url });

describe('eval reports API', () => {
  it('lists finished runs newest first with their files, and no path of the server', async () => {
    const res = await get('/api/v1/eval/reports');
    expect(res.statusCode).toBe(200);
    const { items } = res.json() as { items: { id: string; files: string[]; phases: number; deployment: string }[] };
    expect(items.map((i) => i.id)).toEqual([newer.id, older.id]);
    expect(items[0]).toMatchObject({ deployment: 'mnist', phases: 3, mode: 'request', users: 2, interrupted: false });
    expect(items[0]!.files).toEqual(['summary.json', 'README.md', 'user_test_charts.png', 'batch_test_heatmaps.png']);
    expect(items[1]!.files).toEqual(['summary.json', 'README.md', 'user_test_charts.png']);
    expect(res.body).not.toContain(dir);
  });

  it('serves each file with its type', async () => {
    const json = await get(`/api/v1/eval/reports/${newer.id}/summary.json`);
    expect(json.statusCode).toBe(200);
    expect(json.headers['content-type']).toContain('application/json');
    expect(json.json()).toEqual(newer);
    const md = await get(`/api/v1/eval/reports/${newer.id}/README.md`);
    expect(md.headers['content-type']).toContain('text/markdown');
    expect(md.body).toContain('| batch 8x5ms |');
    const png = await get(`/api/v1/eval/reports/${newer.id}/batch_test_heatmaps.png`);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
  });

  it('refuses ids and names that are not a report file (400) and missing ones (404), never leaking a path', async () => {
    for (const url of [
      '/api/v1/eval/reports/..%2F..%2Fetc/summary.json',
      '/api/v1/eval/reports/..%2F' + newer.id + '/summary.json',
      `/api/v1/eval/reports/${newer.id}/..%2Fsummary.json`,
      `/api/v1/eval/reports/${newer.id}/lakeray.db`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
    for (const url of [`/api/v1/eval/reports/${older.id}/batch_test_heatmaps.png`, '/api/v1/eval/reports/2026-12-03T10-00-00-000Z/summary.json', '/api/v1/eval/reports/2030-01-01T00-00-00-000Z/README.md']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('EVAL_REPORT_NOT_FOUND');
      expect(res.body).not.toContain(dir);
    }
  });

  it('is described in the OpenAPI document', async () => {
    const res = await get('/docs/json');
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().paths)).toEqual(expect.arrayContaining(['/api/v1/eval/reports', '/api/v1/eval/reports/{id}/{file}']));
  });
});
