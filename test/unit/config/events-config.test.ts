import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

describe('events config', () => {
  it('defaults to the in-process bus', () => {
    expect(parseConfig({}, '/base').events).toEqual({ kind: 'memory' });
  });

  it('takes a redis bus with its defaults', () => {
    expect(parseConfig({ events: { kind: 'redis', url: 'redis://r:6379/2' } }, '/base').events).toEqual({
      kind: 'redis',
      url: 'redis://r:6379/2',
      stream: 'lakeray:events',
      max_len: 100_000,
    });
  });

  it('LAKERAY_EVENTS_URL selects the redis bus, keeping the file’s other redis fields', () => {
    expect(parseConfig({}, '/base', { LAKERAY_EVENTS_URL: 'rediss://r:6380' }).events).toEqual({
      kind: 'redis',
      url: 'rediss://r:6380',
      stream: 'lakeray:events',
      max_len: 100_000,
    });
    const fromFile = { events: { kind: 'redis', url: 'redis://a', stream: 'prod:events', max_len: 500 } };
    expect(parseConfig(fromFile, '/base', { LAKERAY_EVENTS_URL: 'redis://b' }).events).toEqual({
      kind: 'redis',
      url: 'redis://b',
      stream: 'prod:events',
      max_len: 500,
    });
    expect(parseConfig({ events: { kind: 'memory' } }, '/base', { LAKERAY_EVENTS_URL: 'redis://b' }).events).toMatchObject({ kind: 'redis', url: 'redis://b' });
  });

  it('refuses, naming the field: no url, a url that is not redis, an unknown kind, unknown keys', () => {
    expect(() => parseConfig({ events: { kind: 'redis' } }, '/base')).toThrow(/events\.url/);
    expect(() => parseConfig({ events: { kind: 'redis', url: 'http://r' } }, '/base')).toThrow(/redis:\/\//);
    expect(() => parseConfig({ events: { kind: 'kafka' } }, '/base')).toThrow(/events\.kind/);
    expect(() => parseConfig({ events: { kind: 'memory', url: 'redis://r' } }, '/base')).toThrow(/url/);
    expect(() => parseConfig({ events: { kind: 'redis', url: 'redis://r', max_len: 0 } }, '/base')).toThrow(/events\.max_len/);
  });
});
