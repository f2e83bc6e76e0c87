import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { countPhase, type RequestRecord, timeSeries } from '../../../src/serving/eval/metrics.ts';
import { runId, writeReport } from '../../../src/serving/eval/report.ts';
import { EvalReports } from '../../../src/serving/eval/reports-dir.ts';
import type { EvalSummary, PhaseSummary } from '../../../src/serving/eval/summary.ts';

/** A recorded run: latencies that grow with the batch timeout, some 429s. */
function recorded(seed: number, n: number, baseMs: number, errorEvery = 0): RequestRecord[] {
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => ({
    start_ms: (i / n) * 5000,
    latency_ms: baseMs + rand() * baseMs,
    error: errorEvery && i % errorEvery === 0 ? 'QUEUE_FULL' : null,
  }));
}

function phase(name: string, kind: PhaseSummary['kind'], records: RequestRecord[], size: number, timeout: number): PhaseSummary {
  return {
    name,
    kind,
    users: 4,
    duration_s: 5,
    started_at: '2026-12-05T12:00:00.000Z',
    config: { max_batch_size: size, batch_timeout_ms: timeout, enable_dynamic_batching: true },
    ...countPhase(records, 5),
    mean_batch_size: size / 2,
    series: timeSeries(records, 5),
  };
}

function summary(withSweep: boolean): EvalSummary {
  const phases = [phase('users', 'users', recorded(1, 400, 4, 40), 32, 5)];
  if (withSweep)
    for (const size of [1, 8])
      for (const timeout of [0, 20]) phases.push(phase(`batch ${size}x${timeout}ms`, 'batch', recorded(size + timeout, 100 * size, 2 + timeout / 4), size, timeout));
  return {
    id: runId(new Date(withSweep ? '2026-12-05T12:00:00.123Z' : '2026-12-05T11:00:00.000Z')),
    deployment: 'mnist',
    model: 'mnist_cnn@3',
    mode: 'request',
    users: 4,
    started_at: '2026-12-05T12:00:00.123Z',
    finished_at: '2026-12-05T12:00:25.000Z',
    interrupted: false,
    restored_settings: withSweep ? { max_batch_size: 32, batch_timeout_ms: 5, enable_dynamic_batching: true } : null,
    phases,
  };
}

/** Width, height and the share of non-white pixels of an 8-bit RGBA PNG (resvg's output). */
function pngInk(png: Buffer): { width: number; height: number; ink: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect([png[24], png[25]]).toEqual([8, 6]); // 8-bit RGBA
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  // Un-filter rows (PNG filters 0-4) and count pixels that are not white.
  const stride = width * 4;
  let prev = Buffer.alloc(stride);
  let ink = 0;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= 4 ? line[i - 4]! : 0;
      const b = prev[i]!;
      const c = i >= 4 ? prev[i - 4]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const add = [0, a, b, (a + b) >> 1, paeth][filter]!;
      line[i] = (line[i]! + add) & 0xff;
    }
    for (let i = 0; i < stride; i += 4) if (line[i]! < 200 || line[i + 1]! < 200 || line[i + 2]! < 200) ink++;
    prev = line;
  }
  return { width, height, ink: ink / (width * height) };
}

describe('eval report writer', () => {
  it('writes summary.json, both charts and a README that tables every phase', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-report-'));
    const s = summary(true);
    const { dir: out, files } = await writeReport(dir, s);
    expect(out).toBe(join(dir, s.id));
    expect(files.sort()).toEqual(['README.md', 'batch_test_heatmaps.png', 'summary.json', 'user_test_charts.png']);
    expect(readdirSync(dir)).toEqual([s.id]); // no partial folder left behind
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(s);

    const users = pngInk(readFileSync(join(out, 'user_test_charts.png')));
    expect(users.width).toBeGreaterThan(800);
    expect(users.ink).toBeGreaterThan(0.01); // lines, axes and labels drawn, not a white page
    const heat = pngInk(readFileSync(join(out, 'batch_test_heatmaps.png')));
    expect(heat.width).toBeGreaterThan(heat.height);
    expect(heat.ink).toBeGreaterThan(0.2); // eight filled cells

    const md = readFileSync(join(out, 'README.md'), 'utf8');
    expect(md).toContain('# Serving evaluation: mnist');
    expect(md).toContain('![latency and throughput over time](user_test_charts.png)');
    expect(md).toContain('![throughput and p95 per configuration](batch_test_heatmaps.png)');
    for (const p of s.phases) expect(md).toContain(`| ${p.name} | ${p.requests} | ${p.ok} |`);
    expect(md).toContain(`QUEUE_FULL ${s.phases[0]!.errors.QUEUE_FULL}`);
    const best = [...s.phases.slice(1)].sort((a, b) => b.throughput_rps - a.throughput_rps)[0]!;
    expect(md).toContain(`Highest throughput: ${best.name}`);
  }, 60_000);

  it('a run without the sweep has no heatmap, and the reports directory lists runs newest first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-report-'));
    await writeReport(dir, summary(false));
    await writeReport(dir, summary(true));
    const reports = new EvalReports(dir);
    const items = await reports.list();
    expect(items.map((i) => i.id)).toEqual([summary(true).id, summary(false).id]);
    expect(items[1]!.files.sort()).toEqual(['README.md', 'summary.json', 'user_test_charts.png']);
    expect(existsSync(join(dir, summary(false).id, 'batch_test_heatmaps.png'))).toBe(false);
    await expect(reports.file(summary(false).id, 'batch_test_heatmaps.png')).rejects.toMatchObject({ code: 'EVAL_REPORT_NOT_FOUND' });
    await expect(reports.file('..', 'summary.json')).rejects.toMatchObject({ code: 'EVAL_REPORT_NOT_FOUND' });
    expect(await new EvalReports(join(dir, 'nowhere')).list()).toEqual([]);
  }, 60_000);
});
