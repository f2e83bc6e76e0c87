import { describe, expect, it } from 'vitest';
import { parseRange } from '../../../src/api/range.ts';
import { isRetryableResponse, wantsEvent, webhookBackoff, webhookEventOf } from '../../../src/domain/webhook.ts';
import { checkOutboundUrl, isPrivateAddress, publicOnlyLookup } from '../../../src/net/url-policy.ts';
import { sniffImage } from '../../../src/generation/image-type.ts';

describe('outbound URL policy', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.0.0.8', true],
    ['172.31.255.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true], // cloud metadata
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['64:ff9b::10.0.0.1', true],
    ['not-an-ip', true],
    ['8.8.8.8', false],
    ['172.32.0.1', false],
    ['2606:4700::1111', false],
    ['::ffff:8.8.8.8', false],
  ])('%s private: %s', (ip, priv) => {
    expect(isPrivateAddress(ip)).toBe(priv);
  });

  it('checks URLs: http(s) only, no private literal or localhost unless allowed', () => {
    expect(checkOutboundUrl('https://example.com/hook', false, 'webhook').host).toBe('example.com');
    for (const bad of ['http://127.0.0.1/x', 'http://[::1]:8/x', 'http://localhost/x', 'http://a.localhost./x', 'http://169.254.169.254/latest'])
      expect(() => checkOutboundUrl(bad, false, 'webhook'), bad).toThrow(/private or loopback/);
    expect(() => checkOutboundUrl('file:///etc/passwd', true, 'image')).toThrow(/only http and https/);
    expect(() => checkOutboundUrl('not a url', true, 'image')).toThrow(/not a valid URL/);
    expect(checkOutboundUrl('http://127.0.0.1:9/x', true, 'webhook').port).toBe('9');
  });

  it('refuses a host name that resolves to a private address at connect time', async () => {
    const err = await new Promise<Error | null>((resolve) => publicOnlyLookup('localhost', {}, (e) => resolve(e)));
    expect(err?.message).toMatch(/localhost resolves to a private address/);
    expect((err as { code?: string }).code).toBe('URL_NOT_ALLOWED');
  });
});

describe('Range headers', () => {
  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=100-', { kind: 'partial', start: 100, end: 999 }],
    ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=990-5000', { kind: 'partial', start: 990, end: 999 }],
    ['bytes = 5 - 9', { kind: 'partial', start: 5, end: 9 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=9-5', { kind: 'unsatisfiable' }],
    ['bytes=-', { kind: 'unsatisfiable' }],
    ['bytes=x-1', { kind: 'unsatisfiable' }],
    ['bytes=0-1,3-4', { kind: 'full' }],
    ['items=0-1', { kind: 'full' }],
  ])('%s of 1000 bytes', (header, decision) => {
    expect(parseRange(header, 1000)).toEqual(decision);
  });

  it('has nothing to give of an empty file', () => {
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('webhook rules', () => {
  it('maps transitions to deliveries and filters by the task’s events', () => {
    expect(['pending', 'running', 'cancelling', 'completed', 'failed', 'cancelled'].map((s) => webhookEventOf(s as never))).toEqual([
      null, 'start', null, 'completed', 'completed', 'completed',
    ]);
    const task = { webhook: 'https://x', webhook_options: { events: ['completed' as const], secret: null } };
    expect(wantsEvent(task, 'completed')).toBe(true);
    expect(wantsEvent(task, 'progress')).toBe(false);
    expect(wantsEvent({ webhook: 'https://x', webhook_options: null }, 'progress')).toBe(true);
    expect(wantsEvent({ webhook: null, webhook_options: null }, 'start')).toBe(false);
  });

  it('retries network errors, 408, 429 and 5xx with doubling backoff', () => {
    expect([null, 408, 429, 500, 503, 200, 301, 400, 404, 410].map(isRetryableResponse)).toEqual([true, true, true, true, true, false, false, false, false, false]);
    expect([1, 2, 3, 4, 10].map((a) => webhookBackoff(a, 1000, 5000))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

describe('image sniffing', () => {
  it('knows PNG, JPEG, WebP and GIF by their bytes, and nothing else', () => {
    const b = (...x: (number | string)[]) => Buffer.concat(x.map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from([v]))));
    expect(sniffImage(b(0x89, 'PNG\r\n\x1a\n', 0))?.content_type).toBe('image/png');
    expect(sniffImage(b(0xff, 0xd8, 0xff, 0xe0))?.extension).toBe('jpg');
    expect(sniffImage(b('RIFF', 0, 0, 0, 0, 'WEBPVP8 '))?.content_type).toBe('image/webp');
    expect(sniffImage(b('GIF89a'))?.content_type).toBe('image/gif');
    expect(sniffImage(b('GIF87a'))?.extension).toBe('gif');
    for (const bad of [b('<svg xmlns=...>'), b('RIFF', 0, 0, 0, 0, 'WAVE'), b('%PDF-1.7'), Buffer.alloc(0), b(0x89, 'PNG')]) expect(sniffImage(bad)).toBeNull();
  });
});
