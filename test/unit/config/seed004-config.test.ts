/** Seed 004's config.yaml (§5.4): its `server:` block loads and means Lakeray's own server.host/port and lake.root. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../../src/config/load.ts';

// Exactly the seed's block, comments included.
const SEED_YAML = `# config.yaml
server:
  host: "http://localhost:8000"    # 服务地址
  storage_path: "./lance_storage"  # 数据湖根目录
`;

const errorOf = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe("seed 004's config.yaml", () => {
  it('loads from a file and means the same as Lakeray’s own keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed004-config-'));
    writeFileSync(join(dir, 'config.yaml'), SEED_YAML);
    const seed = loadConfig('config.yaml', {}, dir).config;
    const own = parseConfig({ server: { host: 'localhost', port: 8000 }, lake: { root: 'lance_storage' } }, dir);
    expect(seed.server).toEqual(own.server);
    expect(seed.lake).toEqual(own.lake);
    expect(seed).toEqual(own);
    expect(seed.lake.root).toBe(join(dir, 'lance_storage'));
  });

  it('takes the URL’s port (80 when it names none) and an IPv6 host without brackets', () => {
    expect(parseConfig({ server: { host: 'http://0.0.0.0:9100/' } }, '/srv').server).toMatchObject({ host: '0.0.0.0', port: 9100 });
    expect(parseConfig({ server: { host: 'http://lakeray.internal' } }, '/srv').server).toMatchObject({ host: 'lakeray.internal', port: 80 });
    expect(parseConfig({ server: { host: 'http://[::1]:8001' } }, '/srv').server).toMatchObject({ host: '::1', port: 8001 });
    // A plain address is still an address, with server.port as given.
    expect(parseConfig({ server: { host: '127.0.0.1', port: 8123 } }, '/srv').server).toMatchObject({ host: '127.0.0.1', port: 8123 });
  });

  it('the same meaning twice is fine; two different meanings are one error naming both keys', () => {
    const same = parseConfig({ server: { host: 'http://localhost:8000', port: 8000, storage_path: './lance_storage' }, lake: { root: 'lance_storage' } }, '/srv');
    expect(same.server.port).toBe(8000);
    expect(same.lake.root).toBe('/srv/lance_storage');

    const port = errorOf(() => parseConfig({ server: { host: 'http://localhost:8000', port: 9000 } }, '/srv'));
    expect(port.issues).toHaveLength(1);
    expect(port.issues[0]).toMatch(/^server\.host: .*8000.*server\.port.*9000/);

    const root = errorOf(() => parseConfig({ server: { storage_path: './lance_storage' }, lake: { root: '/data/lake' } }, '/srv'));
    expect(root.issues).toHaveLength(1);
    expect(root.issues[0]).toMatch(/server\.storage_path.*lake\.root.*differ/);
  });

  it('a bad URL in server.host is one readable error naming server.host', () => {
    for (const host of ['http://local host:8000', 'http://localhost:99999', 'https://localhost:8000', 'http://localhost:8000/api', 'ftp://x']) {
      const e = errorOf(() => parseConfig({ server: { host } }, '/srv'));
      expect(e.issues, host).toHaveLength(1);
      expect(e.issues[0], host).toMatch(/^server\.host: /);
      expect(e.message, host).toContain(host);
    }
    expect(errorOf(() => parseConfig({ server: { storage_path: '' } }, '/srv')).issues[0]).toMatch(/^server\.storage_path: /);
  });

  it('environment overrides still win over the seed’s keys', () => {
    const c = parseConfig({ server: { host: 'http://localhost:8000', storage_path: './lance_storage' } }, '/srv', {
      LAKERAY_PORT: '8100',
      LAKERAY_LAKE_ROOT: '/mnt/lake',
    });
    expect(c.server).toMatchObject({ host: 'localhost', port: 8100 });
    expect(c.lake.root).toBe('/mnt/lake');
  });
});
