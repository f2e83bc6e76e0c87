/** LAKERAY_DATA_ROOTS and LAKERAY_LOG_FORMAT override their config fields like the other LAKERAY_* variables. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, splitRoots } from '../../../src/config/load.ts';

describe('env overrides', () => {
  it('LAKERAY_DATA_ROOTS replaces data_roots: colon- or comma-separated, relative to the base dir, URIs kept whole', () => {
    const c = parseConfig({ data_roots: ['data'] }, '/srv/lakeray', { LAKERAY_DATA_ROOTS: 'data:/data/raw, /mnt/images,' });
    expect(c.data_roots).toEqual(['/srv/lakeray/data', '/data/raw', '/mnt/images']);
    expect(splitRoots('s3://bucket/raw:/data/raw')).toEqual(['s3://bucket/raw', '/data/raw']);
    expect(parseConfig({}, '/srv', {}).data_roots).toEqual(['/srv/data']);
  });

  it('LAKERAY_LOG_FORMAT sets log_format (auto by default) and refuses anything else', () => {
    expect(parseConfig({}, '/srv', {}).log_format).toBe('auto');
    expect(parseConfig({ log_format: 'pretty' }, '/srv', { LAKERAY_LOG_FORMAT: 'json' }).log_format).toBe('json');
    expect(() => parseConfig({}, '/srv', { LAKERAY_LOG_FORMAT: 'xml' })).toThrow(ConfigError);
  });
});
