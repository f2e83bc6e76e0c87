import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from './harness.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lakeray-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('lakeray config', () => {
  it('--create-default writes ./lakeray.yaml that --validate accepts (round trip)', async () => {
    const created = await runCli(['config', '--create-default'], { cwd: dir });
    const file = join(dir, 'lakeray.yaml');
    expect(created).toEqual({ code: 0, out: `wrote ${file}\n`, err: '' });
    expect(parse(readFileSync(file, 'utf8'))).toMatchObject({ server: { port: 8000 } });
    expect(await runCli(['config', '--validate'], { cwd: dir })).toEqual({ code: 0, out: `config OK: ${file}\n`, err: '' });
    expect(await runCli(['config', '--validate', 'lakeray.yaml'], { cwd: dir })).toMatchObject({ code: 0 });
  });

  it('--create-default refuses to overwrite unless --force', async () => {
    const file = join(dir, 'custom.yaml');
    writeFileSync(file, 'mine: true\n');
    const refused = await runCli(['config', '--create-default', file], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`error FILE_EXISTS: ${file} already exists`);
    expect(refused.err).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe('mine: true\n');
    expect((await runCli(['config', '--create-default', file, '--force'], { cwd: dir })).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('server:');
  });

  it('--validate of a bad file names each bad field and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server:\n  port: 99999\n  hots: x\nlog_level: 12\n');
    const r = await runCli(['--config', file, 'config', '--validate'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n')[0]).toBe(`config invalid: ${file}`);
    expect(r.err).toMatch(/- server\.port: /);
    expect(r.err).toMatch(/- server: .*hots/);
    expect(r.err).toMatch(/- log_level: /);
    const json = await runCli(['--json', 'config', '--validate', file], { cwd: dir });
    const doc = JSON.parse(json.out);
    expect(json.code).toBe(1);
    expect(doc.ok).toBe(false);
    expect(doc.errors.some((e: string) => e.startsWith('server.port:'))).toBe(true);
  });

  it('--validate reports unreadable YAML and a missing explicit file', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'server: [\n');
    const broken = await runCli(['config', '--validate', file], { cwd: dir });
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('Cannot parse');
    const missing = await runCli(['config', '--validate', 'nope.yaml'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('not found');
  });

  it('--show prints the effective config with env overrides, as YAML or JSON', async () => {
    writeFileSync(join(dir, 'lakeray.yaml'), 'server:\n  port: 9000\n');
    const yaml = await runCli(['config', '--show'], { cwd: dir, env: { LAKERAY_LOG_LEVEL: 'debug' } });
    expect(yaml.code).toBe(0);
    expect(yaml.out.split('\n')[0]).toContain(join(dir, 'lakeray.yaml'));
    expect(parse(yaml.out)).toMatchObject({ server: { port: 9000 }, log_level: 'debug' });
    const json = await runCli(['--json', 'config', '--show'], { cwd: dir });
    expect(JSON.parse(json.out)).toMatchObject({ server: { port: 9000, host: '127.0.0.1' } });
  });

  it('needs exactly one action', async () => {
    expect((await runCli(['config'], { cwd: dir })).code).toBe(2);
    expect((await runCli(['config', '--show', '--validate'], { cwd: dir })).code).toBe(2);
  });
});
