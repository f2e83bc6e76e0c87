/**
 * Preview cells of a lake table (docs/lake.md): plain values as text, summarized vectors as a
 * one-line summary, and picture-like columns as pictures — a square numeric vector
 * (`List[Float32, 784]` is a 28×28 MNIST image) drawn on a canvas, an image binary as <img>.
 */
import type { Column } from '../../api/types.ts';
import { PixelImage, squareSide } from '../../components/PixelImage.tsx';
import { metric } from '../../lib/format.ts';

const VECTOR = /^List\[(U?Int\d+|Float\d+|Float|Double), (\d+)\]$/;
const IMAGE_NAME = /image|img|picture|photo|thumb|cover|pixels/i;

export type ImageKind = 'pixels' | 'binary' | null;

/** Whether a column holds pictures, from its readable type (and, for binaries, its name). */
export function imageKind(c: Column): ImageKind {
  const m = VECTOR.exec(c.type);
  if (m && squareSide(Number(m[2])) !== null && Number(m[2]) >= 64) return 'pixels';
  if (/^(Large)?Binary$/.test(c.type) && IMAGE_NAME.test(c.name)) return 'binary';
  return null;
}

const mimeOf = (b64: string): string => (b64.startsWith('/9j/') ? 'image/jpeg' : b64.startsWith('R0lG') ? 'image/gif' : b64.startsWith('UklG') ? 'image/webp' : 'image/png');

export function Cell({ value, column, row }: { value: unknown; column: Column; row: number }) {
  if (value === null || value === undefined) return <span className="muted">null</span>;
  const kind = imageKind(column);
  if (kind === 'pixels' && Array.isArray(value)) {
    return <PixelImage values={value as number[]} label={`${column.name} of row ${row}, ${Math.sqrt(value.length)}×${Math.sqrt(value.length)} pixels`} />;
  }
  if (typeof value === 'object' && value !== null && '$binary' in value) {
    const b = value as { $binary: string; bytes: number };
    if (kind === 'binary') return <img className="pixel-cell" style={{ objectFit: 'contain', imageRendering: 'auto' }} src={`data:${mimeOf(b.$binary)};base64,${b.$binary}`} alt={`${column.name} of row ${row}`} />;
    return <span className="cell-summary">{b.bytes} bytes</span>;
  }
  if (typeof value === 'object' && value !== null && '$summary' in value) {
    const s = value as { $summary: string; length?: number; bytes?: number; mean?: number | null; min?: number | null; max?: number | null; head?: unknown };
    const parts = [s.$summary];
    if (s.length !== undefined) parts.push(`${s.length} values`);
    if (s.bytes !== undefined) parts.push(`${s.bytes} bytes`);
    if (typeof s.mean === 'number') parts.push(`mean ${metric(s.mean)}`);
    if (typeof s.head === 'string') return <span title={s.head}>{s.head}…</span>;
    return <span className="cell-summary">{parts.join(' · ')}</span>;
  }
  if (typeof value === 'number') return <span className="num">{metric(value)}</span>;
  if (typeof value === 'boolean') return <span className="mono">{String(value)}</span>;
  if (typeof value === 'string') return value.length > 140 ? <span title={value}>{value.slice(0, 140)}…</span> : <>{value}</>;
  const text = JSON.stringify(value);
  return <span className="mono small" title={text.length > 140 ? text : undefined}>{text.length > 140 ? `${text.slice(0, 140)}…` : text}</span>;
}
