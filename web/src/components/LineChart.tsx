/**
 * A line chart in plain SVG (no chart library): one or more series of (x, y) points. Axes come
 * from lib/chart-scale.ts (round ticks; accuracy-like metrics stay within [0, 1]). A run of one
 * epoch is a marker with its value written next to it; up to MAX_DOTS points each get a dot;
 * longer series are a line, thinned to at most MAX_POINTS for drawing (the ends are kept).
 * The axes' ranges are on the <svg> as data attributes (the end-to-end tests read them).
 */
import { type Axis, isFractionMetric, tickLabel, xAxis, yAxis } from '../lib/chart-scale.ts';
import { metric } from '../lib/format.ts';

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

const COLORS = ['var(--c-chart-1)', 'var(--c-chart-2)', 'var(--c-chart-3)', 'var(--c-chart-4)', 'var(--c-chart-5)'];
export const seriesColor = (i: number): string => COLORS[i % COLORS.length] as string;

const W = 400;
const H = 170;
const PAD = { left: 46, right: 14, top: 12, bottom: 24 };
const MAX_POINTS = 400;
const MAX_DOTS = 30;

type Point = { x: number; y: number };

function thin(points: Point[]): Point[] {
  if (points.length <= MAX_POINTS) return points;
  const every = Math.ceil(points.length / MAX_POINTS);
  const out = points.filter((_, i) => i % every === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]!);
  return out;
}

const finitePoints = (s: Series): Point[] => s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);

const scale = (axis: Axis, from: number, to: number) => (v: number) => from + ((v - axis.min) / (axis.max - axis.min || 1)) * (to - from);

export function LineChart({ series, label, xLabel = 'step' }: { series: Series[]; label: string; xLabel?: string }) {
  const drawn = series.map((s) => ({ name: s.name, points: finitePoints(s) }));
  const all = drawn.flatMap((s) => s.points);
  if (all.length === 0) return <p className="muted small">No data points yet.</p>;
  const fraction = series.every((s) => isFractionMetric(s.name));
  const y = yAxis(
    all.map((p) => p.y),
    { fraction },
  );
  const x = xAxis(all.map((p) => p.x));
  const sx = scale(x, PAD.left, W - PAD.right);
  const sy = scale(y, H - PAD.bottom, PAD.top);
  const summary = drawn
    .map((s) => {
      const last = s.points[s.points.length - 1];
      return `${s.name}: ${s.points.length} ${s.points.length === 1 ? 'point' : 'points'}${last ? `, last ${metric(last.y)} at ${xLabel} ${metric(last.x)}` : ''}`;
    })
    .join('; ');

  return (
    <svg
      className="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`${label}. ${summary}`}
      data-y-min={y.min}
      data-y-max={y.max}
      data-x-min={x.min}
      data-x-max={x.max}
    >
      {y.ticks.map((t) => (
        <g key={t}>
          <line className="grid-line" x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} />
          <text className="axis-label y-tick" x={PAD.left - 6} y={sy(t) + 4} textAnchor="end">
            {tickLabel(t, y.decimals)}
          </text>
        </g>
      ))}
      {x.ticks.map((t, i) => (
        <text
          key={t}
          className="axis-label x-tick"
          x={sx(t)}
          y={H - 6}
          textAnchor={x.ticks.length > 1 && i === 0 && t === x.min ? 'start' : x.ticks.length > 1 && t === x.max ? 'end' : 'middle'}
        >
          {tickLabel(t, x.decimals)}
        </text>
      ))}
      {drawn.map((s, i) => {
        const pts = thin(s.points);
        if (pts.length === 0) return null;
        const color = seriesColor(i);
        const last = pts[pts.length - 1]!;
        if (pts.length === 1) {
          // One epoch: nothing to draw a line through, so a clear marker and its value.
          const above = sy(last.y) > PAD.top + 22;
          return (
            <g key={s.name} className="single">
              <line className="drop-line" x1={sx(last.x)} x2={sx(last.x)} y1={sy(last.y)} y2={H - PAD.bottom} stroke={color} />
              <circle className="point" cx={sx(last.x)} cy={sy(last.y)} r={5} fill={color} stroke="var(--c-surface)" strokeWidth={2} />
              <text className="point-label" x={sx(last.x)} y={above ? sy(last.y) - 11 : sy(last.y) + 20} textAnchor="middle" fill={color}>
                {metric(last.y)}
              </text>
            </g>
          );
        }
        const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
        return (
          <g key={s.name}>
            {drawn.length === 1 && <path className="area" fill={color} d={`${d}L${sx(last.x).toFixed(1)},${sy(y.min)}L${sx(pts[0]!.x).toFixed(1)},${sy(y.min)}Z`} />}
            <path className="series" stroke={color} d={d} />
            {pts.length <= MAX_DOTS && pts.slice(0, -1).map((p) => <circle key={p.x} className="dot" cx={sx(p.x)} cy={sy(p.y)} r={2.5} fill={color} />)}
            <circle className="point" cx={sx(last.x)} cy={sy(last.y)} r={3.5} fill={color} stroke="var(--c-surface)" strokeWidth={1.5} />
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
