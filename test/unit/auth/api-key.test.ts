import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, looksLikeApiKey, parseApiKey, secretMatches } from '../../../src/auth/api-key.ts';
import { parseExpiry } from '../../../src/auth/keys.ts';

describe('API keys', () => {
  it('are lrk1.<id>.<secret>, and only the SHA-256 of the secret is kept', () => {
    const key = generateApiKey();
    const parsed = parseApiKey(key.bearer);
    expect(parsed?.id).toBe(key.id);
    expect(key.bearer).toMatch(/^lrk1\.k[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(key.hash).toBe(createHash('sha256').update(parsed!.secret).digest('hex'));
    expect(key.hash).not.toContain(parsed!.secret);
    expect(looksLikeApiKey(key.bearer)).toBe(true);
  });

  it('differ every time (ids and secrets are random)', () => {
    const keys = Array.from({ length: 50 }, generateApiKey);
    expect(new Set(keys.map((k) => k.id)).size).toBe(50);
    expect(new Set(keys.map((k) => k.bearer)).size).toBe(50);
  });

  it('match only their own secret', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(secretMatches(parseApiKey(a.bearer)!.secret, a.hash)).toBe(true);
    expect(secretMatches(parseApiKey(b.bearer)!.secret, a.hash)).toBe(false);
    expect(secretMatches(parseApiKey(a.bearer)!.secret, 'not hex')).toBe(false);
  });

  it('refuse anything malformed', () => {
    const { bearer } = generateApiKey();
    for (const bad of ['', 'lrk1', bearer.slice(0, -1), `${bearer}x`, bearer.replace('lrk1', 'lrk2'), `${bearer}.x`, bearer.replace(/\.k/, '.K'), 'lrt1.a.1.b']) {
      expect(parseApiKey(bad), bad).toBeNull();
    }
  });
});

describe('key expiry (--expires)', () => {
  const now = Date.parse('2026-12-05T00:00:00Z');
  it('takes durations and ISO dates', () => {
    expect(parseExpiry('30d', now)).toBe(now + 30 * 86_400_000);
    expect(parseExpiry('12h', now)).toBe(now + 12 * 3_600_000);
    expect(parseExpiry('90m', now)).toBe(now + 90 * 60_000);
    expect(parseExpiry('2w', now)).toBe(now + 14 * 86_400_000);
    expect(parseExpiry('2027-01-31', now)).toBe(Date.parse('2027-01-31'));
    expect(parseExpiry('2027-01-31T12:00:00Z', now)).toBe(Date.parse('2027-01-31T12:00:00Z'));
  });
  it('refuses anything else with INVALID_REQUEST', () => {
    for (const bad of ['30', 'd', '30y', 'tomorrow', '2027-13-45', '-5d']) expect(() => parseExpiry(bad, now), bad).toThrow(/neither a duration/);
  });
});
