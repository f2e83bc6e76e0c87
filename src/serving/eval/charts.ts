/**
 * The report's charts as PNG without a browser: Vega-Lite specs compiled to Vega, rendered to
 * SVG by Vega's headless renderer, rasterized by resvg. Fonts come from the system (resvg
 * reads the fontconfig directories); without any font the charts still render, unlabelled.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { PhaseSummary } from './summary.ts';

const FONT = 'DejaVu Sans';
const CONFIG = { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } };

export async function renderPng(spec: TopLevelSpec, scale = 2): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG(scale);
    return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: FONT } }).render().asPng();
  } finally {
    view.finalize();
  }
}

/** Latency p50/p95/p99 per second and answered requests per second, stacked. */
export function userTestSpec(phase: PhaseSummary): TopLevelSpec {
  const latency = phase.series.flatMap((s) =>
    (['p50', 'p95', 'p99'] as const).flatMap((p) => (s[p] === null ? [] : [{ t_s: s.t_s, percentile: p, ms: s[p] }])),
  );
  const x = { field: 't_s', type: 'quantitative' as const, title: 'time (s)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Simulated users: ${phase.users} (${phase.name})`,
    config: CONFIG,
    vconcat: [
      {
        width: 560,
        height: 200,
        title: 'Latency percentiles over time',
        data: { values: latency },
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'ms', type: 'quantitative', title: 'latency (ms)' }, color: { field: 'percentile', type: 'nominal', title: null } },
      },
      {
        width: 560,
        height: 160,
        title: 'Throughput over time',
        // Copies: Vega tags the objects it is given, and the series also goes to summary.json.
        data: { values: phase.series.map((p) => ({ ...p })) },
        mark: { type: 'area', line: true, opacity: 0.4 },
        encoding: { x, y: { field: 'throughput_rps', type: 'quantitative', title: 'answered / s' } },
      },
    ],
  };
}

/** Throughput and p95 latency per (max_batch_size, batch_timeout_ms), side by side. */
export function batchHeatmapSpec(phases: readonly PhaseSummary[]): TopLevelSpec {
  const values = phases.map((p) => ({
    max_batch_size: p.config.max_batch_size,
    batch_timeout_ms: p.config.batch_timeout_ms,
    throughput_rps: p.throughput_rps,
    p95: p.latency_ms.p95,
  }));
  const cell = (field: string, title: string, scheme: string) => ({
    width: 260,
    height: 220,
    title,
    layer: [
      {
        mark: 'rect' as const,
        encoding: { color: { field, type: 'quantitative' as const, title: null, scale: { scheme }, legend: { format: '.1f' } } },
      },
      {
        mark: { type: 'text' as const, fontSize: 12 },
        encoding: { text: { field, type: 'quantitative' as const, format: '.1f' } },
      },
    ],
    encoding: {
      x: { field: 'batch_timeout_ms', type: 'ordinal' as const, title: 'batch_timeout_ms', axis: { labelAngle: 0 } },
      y: { field: 'max_batch_size', type: 'ordinal' as const, title: 'max_batch_size', sort: 'descending' as const },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Batch configurations',
    config: CONFIG,
    data: { values },
    resolve: { scale: { color: 'independent' } },
    hconcat: [cell('throughput_rps', 'Throughput (answered / s)', 'greens'), cell('p95', 'p95 latency (ms)', 'oranges')],
  } as TopLevelSpec;
}
