/**
 * A line chart in plain SVG (no chart library): one or more series of (x, y) points, with
 * "nice" y ticks, x ticks at the ends and middle, and the last value marked. Long series are
 * thinned to at most MAX_POINTS for drawing (the ends are always kept).
 */
import { metric } from '../lib/format.ts';

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

const COLORS = ['var(--c-chart-1)', 'var(--c-chart-2)', 'var(--c-chart-3)', 'var(--c-chart-4)', 'var(--c-chart-5)'];
export const seriesColor = (i: number): string => COLORS[i % COLORS.length] as string;

const W = 400;
const H = 170;
const PAD = { left: 44, right: 12, top: 10, bottom: 24 };
const MAX_POINTS = 400;

function niceTicks(min: number, max: number, count = 4): number[] {
  if (min === max) {
    const d = Math.abs(min) || 1;
    min -= d / 2;
    max += d / 2;
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function thin(points: { x: number; y: number }[]): { x: number; y: number }[] {
  if (points.length <= MAX_POINTS) return points;
  const every = Math.ceil(points.length / MAX_POINTS);
  const out = points.filter((_, i) => i % every === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]!);
  return out;
}

export function LineChart({ series, label, xLabel = 'step' }: { series: Series[]; label: string; xLabel?: string }) {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (all.length === 0) return <p className="muted small">No data points yet.</p>;
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const ticks = niceTicks(Math.min(...ys), Math.max(...ys));
  const yMin = ticks[0]!;
  const yMax = ticks[ticks.length - 1]!;
  const sx = (x: number) => PAD.left + (xMax === xMin ? (W - PAD.left - PAD.right) / 2 : ((x - xMin) / (xMax - xMin)) * (W - PAD.left - PAD.right));
  const sy = (y: number) => PAD.top + (1 - (y - yMin) / (yMax - yMin || 1)) * (H - PAD.top - PAD.bottom);
  const xTicks = xMax === xMin ? [xMin] : [xMin, (xMin + xMax) / 2, xMax];
  const summary = series
    .map((s) => {
      const last = s.points[s.points.length - 1];
      return `${s.name}: ${s.points.length} points${last ? `, last ${metric(last.y)} at ${xLabel} ${metric(last.x)}` : ''}`;
    })
    .join('; ');

  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}. ${summary}`}>
      {ticks.map((t) => (
        <g key={t}>
          <line className="grid-line" x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} />
          <text className="axis-label" x={PAD.left - 6} y={sy(t) + 4} textAnchor="end">
            {metric(t)}
          </text>
        </g>
      ))}
      {xTicks.map((t, i) => (
        <text key={i} className="axis-label" x={sx(t)} y={H - 6} textAnchor={i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'}>
          {metric(Math.round(t * 100) / 100)}
        </text>
      ))}
      {series.map((s, i) => {
        const pts = thin(s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x));
        if (pts.length === 0) return null;
        const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
        const last = pts[pts.length - 1]!;
        const color = seriesColor(i);
        return (
          <g key={s.name}>
            {series.length === 1 && pts.length > 1 && (
              <path className="area" fill={color} d={`${d}L${sx(last.x).toFixed(1)},${sy(yMin)}L${sx(pts[0]!.x).toFixed(1)},${sy(yMin)}Z`} />
            )}
            <path className="series" stroke={color} d={d} />
            <circle cx={sx(last.x)} cy={sy(last.y)} r={3.5} fill={color} stroke="var(--c-surface)" strokeWidth={1.5} />
          </g>
        );
      })}
    </svg>
  );
}

export function Legend({ names }: { names: string[] }) {
  return (
    <div className="chart-legend">
      {names.map((n, i) => (
        <span key={n}>
          <span className="swatch" style={{ background: seriesColor(i) }} />
          {n}
        </span>
      ))}
    </div>
  );
}
