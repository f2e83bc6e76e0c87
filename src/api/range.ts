/**
 * HTTP Range requests (RFC 9110 §14) for artifact downloads, so a browser's <video> can seek:
 * one range per request (`bytes=0-99`, `bytes=100-`, `bytes=-100`); several ranges are
 * answered with the whole file, as the RFC allows.
 */
export type RangeDecision = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeDecision {
  // A unit other than bytes is ignored (RFC 9110 §14.2), as are several ranges at once.
  if (header === undefined || !/^\s*bytes\s*=/i.test(header) || header.includes(',')) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'unsatisfiable' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'unsatisfiable' };
  if (a === '') {
    // Suffix: the last N bytes.
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || (b !== '' && Number(b) < start)) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}
