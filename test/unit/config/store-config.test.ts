import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

describe('store config', () => {
  it('defaults to SQLite, and accepts {path} without a kind (made absolute)', () => {
    expect(parseConfig({}, '/base').store).toEqual({ kind: 'sqlite' });
    expect(parseConfig({ store: { path: 'db/l.db' } }, '/base').store).toEqual({ kind: 'sqlite', path: '/base/db/l.db' });
    expect(parseConfig({ store: { kind: 'sqlite', path: ':memory:' } }, '/base').store).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  it('takes a PostgreSQL store with its pool size', () => {
    expect(parseConfig({ store: { kind: 'postgres', url: 'postgres://u:p@db:5432/lakeray' } }, '/base').store).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/lakeray',
      pool_size: 10,
    });
    expect(parseConfig({ store: { kind: 'postgres', url: 'postgresql://db/x', pool_size: 3 } }, '/base').store).toMatchObject({ pool_size: 3 });
  });

  it('refuses a postgres store without a postgres URL, a bad pool size, or a path', () => {
    for (const store of [
      { kind: 'postgres' },
      { kind: 'postgres', url: 'mysql://db/x' },
      { kind: 'postgres', url: 'postgres://db/x', pool_size: 0 },
      { kind: 'postgres', url: 'postgres://db/x', path: 'a.db' },
      { kind: 'sqlite', url: 'postgres://db/x' },
      { kind: 'mongo' },
    ]) {
      expect(() => parseConfig({ store }, '/base'), JSON.stringify(store)).toThrow(/store/);
    }
  });

  it('LAKERAY_STORE_URL selects PostgreSQL over the file, keeping its pool size', () => {
    const env = { LAKERAY_STORE_URL: 'postgres://db/lakeray' };
    expect(parseConfig({}, '/base', env).store).toEqual({ kind: 'postgres', url: 'postgres://db/lakeray', pool_size: 10 });
    expect(parseConfig({ store: { path: 'x.db' } }, '/base', env).store).toEqual({ kind: 'postgres', url: 'postgres://db/lakeray', pool_size: 10 });
    expect(parseConfig({ store: { kind: 'postgres', url: 'postgres://a/b', pool_size: 4 } }, '/base', env).store).toEqual({ kind: 'postgres', url: 'postgres://db/lakeray', pool_size: 4 });
    expect(() => parseConfig({}, '/base', { LAKERAY_STORE_URL: 'not a url' })).toThrow(/store\.url/);
  });
});
