import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

describe('artifacts config', () => {
  it('defaults to the local store under the state dir, and accepts {root} without a kind', () => {
    expect(parseConfig({}, '/base').artifacts).toEqual({ kind: 'local', root: '/base/.lakeray/artifacts' });
    expect(parseConfig({ artifacts: { root: 'arts' } }, '/base').artifacts).toEqual({ kind: 'local', root: '/base/arts' });
  });

  it('takes an s3 store with its defaults', () => {
    expect(parseConfig({ artifacts: { kind: 's3', bucket: 'b' } }, '/base').artifacts).toEqual({
      kind: 's3',
      bucket: 'b',
      prefix: '',
      region: 'us-east-1',
      force_path_style: false,
      staging_root: '/base/.lakeray/artifacts-staging',
    });
  });

  it('refuses an s3 store without a bucket, with half the credentials or with unknown keys', () => {
    expect(() => parseConfig({ artifacts: { kind: 's3' } }, '/base')).toThrow();
    expect(() => parseConfig({ artifacts: { kind: 's3', bucket: 'b', access_key_id: 'k' } }, '/base')).toThrow();
    expect(() => parseConfig({ artifacts: { kind: 's3', bucket: 'b', root: '/x' } }, '/base')).toThrow();
    expect(() => parseConfig({ artifacts: { kind: 'gcs' } }, '/base')).toThrow();
  });
});
