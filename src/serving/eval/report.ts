/**
 * Writes one evaluation run as a folder: `summary.json`, `user_test_charts.png` (when the
 * users test ran), `batch_test_heatmaps.png` (when the sweep ran) and a `README.md` that
 * tables the phases and shows the images. The folder is written under a temporary name and
 * renamed at the end, so the reports API never lists a half-written run.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { batchHeatmapSpec, renderPng, userTestSpec } from './charts.ts';
import type { EvalSummary, PhaseSummary } from './summary.ts';

export const REPORT_FILES = ['summary.json', 'README.md', 'user_test_charts.png', 'batch_test_heatmaps.png'] as const;
export type ReportFile = (typeof REPORT_FILES)[number];

/** A run id from its start time: sortable, and safe as a folder name and a URL segment. */
export function runId(startedAt: Date): string {
  return startedAt.toISOString().replace(/[:.]/g, '-');
}

export async function writeReport(resultsDir: string, summary: EvalSummary): Promise<{ dir: string; files: ReportFile[] }> {
  const dir = join(resultsDir, summary.id);
  const tmp = join(resultsDir, `.${summary.id}.partial`);
  await mkdir(tmp, { recursive: true });
  const files: ReportFile[] = ['summary.json', 'README.md'];
  const users = summary.phases.find((p) => p.kind === 'users');
  const batch = summary.phases.filter((p) => p.kind === 'batch');
  if (users) {
    await writeFile(join(tmp, 'user_test_charts.png'), await renderPng(userTestSpec(users)));
    files.push('user_test_charts.png');
  }
  if (batch.length) {
    await writeFile(join(tmp, 'batch_test_heatmaps.png'), await renderPng(batchHeatmapSpec(batch)));
    files.push('batch_test_heatmaps.png');
  }
  await writeFile(join(tmp, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(join(tmp, 'README.md'), readme(summary, users, batch));
  await rename(tmp, dir);
  return { dir, files };
}

const num = (v: number | null, digits = 1): string => (v === null ? '-' : v.toFixed(digits));
const errs = (e: Record<string, number>): string =>
  Object.entries(e)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ') || '-';

function row(p: PhaseSummary): string {
  const l = p.latency_ms;
  return `| ${p.name} | ${p.requests} | ${p.ok} | ${errs(p.errors)} | ${num(p.throughput_rps)} | ${num(l.p50)} | ${num(l.p95)} | ${num(l.p99)} | ${num(p.mean_batch_size, 2)} |`;
}

const HEADER = '| phase | requests | ok | errors | throughput (/s) | p50 ms | p95 ms | p99 ms | mean batch |\n|---|---:|---:|---|---:|---:|---:|---:|---:|';

export function readme(s: EvalSummary, users: PhaseSummary | undefined, batch: readonly PhaseSummary[]): string {
  const unit = s.mode === 'session' ? 'chunks streamed over session WebSockets' : 'single-image predict requests';
  const lines = [
    `# Serving evaluation: ${s.deployment}`,
    '',
    `- model: ${s.model ?? 'unknown'}`,
    `- mode: ${s.mode} (${unit}), ${s.users} simulated users`,
    `- run: ${s.started_at} → ${s.finished_at}${s.interrupted ? ' (interrupted: partial results)' : ''}`,
    '',
    'Latencies are over answered requests; errors are counted by their API code. Throughput is',
    'answered requests per second of the phase. Mean batch is rows per batch on the server during',
    'the phase (from GET /api/v1/deployments/{name}/stats).',
    '',
  ];
  if (users) {
    const c = users.config;
    lines.push(
      '## Simulated users',
      '',
      `${users.duration_s} s with max_batch_size ${c.max_batch_size ?? '-'}, batch_timeout_ms ${c.batch_timeout_ms ?? '-'}.`,
      '',
      HEADER,
      row(users),
      '',
      '![latency and throughput over time](user_test_charts.png)',
      '',
    );
  }
  if (batch.length) {
    lines.push('## Batch configurations', '', `Each configuration ran ${batch[0]!.duration_s} s with ${batch[0]!.users} users.`, '', HEADER, ...batch.map(row), '');
    const best = [...batch].sort((a, b) => b.throughput_rps - a.throughput_rps)[0]!;
    lines.push(`Highest throughput: ${best.name} (${num(best.throughput_rps)}/s, p95 ${num(best.latency_ms.p95)} ms).`, '');
    lines.push('![throughput and p95 per configuration](batch_test_heatmaps.png)', '');
    if (s.restored_settings)
      lines.push(`Settings restored afterwards: max_batch_size ${s.restored_settings.max_batch_size}, batch_timeout_ms ${s.restored_settings.batch_timeout_ms}.`, '');
  }
  return `${lines.join('\n')}`;
}
