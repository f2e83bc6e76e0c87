/**
 * A model's parameters, every one of them and nothing cut off: numbers and short text as they
 * are, a list of plain values (class names) as chips that wrap, anything nested as JSON that
 * wraps. The panel grows with them instead of scrolling inside itself.
 */
import { Fragment } from 'react';
import { metric } from '../../lib/format.ts';

/** Past this many items a list reads better as text than as a wall of chips. */
const MAX_CHIPS = 40;

const isPlain = (v: unknown): boolean => v === null || typeof v !== 'object';

/** JSON on one line with a space after each comma and colon. */
const inline = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(inline).join(', ')}]`
    : v !== null && typeof v === 'object'
      ? `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`).join(', ')}}`
      : (JSON.stringify(v) ?? 'null');

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">none</span>;
  if (typeof value === 'number') return <span className="num">{metric(value)}</span>;
  if (typeof value === 'boolean') return <span>{String(value)}</span>;
  if (typeof value === 'string') return <span>{value}</span>;
  if (Array.isArray(value) && value.length > 0 && value.length <= MAX_CHIPS && value.every(isPlain)) {
    return (
      <span className="kv-chips">
        {value.map((v, i) => (
          <span key={i} className="tag">
            {String(v)}
          </span>
        ))}
      </span>
    );
  }
  // Short structures on one line ({"conv": [32, 64], "dense": 128}), long ones indented.
  const oneLine = inline(value);
  return <pre className="code-wrap">{oneLine.length <= 80 ? oneLine : JSON.stringify(value, null, 2)}</pre>;
}

export function ParamsList({ params }: { params: Record<string, unknown> }) {
  const entries = Object.entries(params);
  if (entries.length === 0) return <p className="muted small">No parameters recorded.</p>;
  return (
    <dl className="kv params-list" data-testid="params">
      {entries.map(([key, value]) => (
        <Fragment key={key}>
          <dt className="mono">{key}</dt>
          <dd>
            <Value value={value} />
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}
