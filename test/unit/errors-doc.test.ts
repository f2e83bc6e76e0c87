import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/domain/errors.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] as string, Number(m[2])] as const);

  it('lists exactly the codes of the registry', () => {
    expect([...new Set(rows.map(([code]) => code))].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('gives each code the registry status', () => {
    for (const [code, status] of rows) expect(status, code).toBe(ERRORS[code as keyof typeof ERRORS].status);
  });
});
