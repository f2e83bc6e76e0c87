import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { PackageTooLargeError, packWorkingDir } from '../../../../src/executors/ray/package.ts';
import { tempDir } from '../../../helpers/server-process.ts';

function folder(): string {
  const dir = tempDir('lakeray-pkg-unit-');
  writeFileSync(join(dir, 'main.py'), 'print("hi")\n');
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', 'util.py'), 'X = 1\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(join(dir, 'run.sh'), 0o755);
  for (const skipped of ['__pycache__', '.git', 'node_modules']) {
    mkdirSync(join(dir, skipped));
    writeFileSync(join(dir, skipped, 'junk'), 'junk');
  }
  mkdirSync(join(dir, 'lib', '__pycache__'));
  writeFileSync(join(dir, 'lib', '__pycache__', 'util.cpython-311.pyc'), 'bytecode');
  return dir;
}

describe('working_dir package', () => {
  it('is the same bytes and name for the same content, whatever the files’ times', async () => {
    const dir = folder();
    const a = await packWorkingDir(dir);
    utimesSync(join(dir, 'main.py'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const b = await packWorkingDir(dir);
    expect(b.name).toBe(a.name);
    expect(Buffer.from(b.zip).equals(Buffer.from(a.zip))).toBe(true);
  });

  it('a changed byte, a new file or a new mode is a new name', async () => {
    const dir = folder();
    const names = [(await packWorkingDir(dir)).name];
    writeFileSync(join(dir, 'main.py'), 'print("ho")\n');
    names.push((await packWorkingDir(dir)).name);
    writeFileSync(join(dir, 'lib', 'more.py'), '');
    names.push((await packWorkingDir(dir)).name);
    chmodSync(join(dir, 'main.py'), 0o755);
    names.push((await packWorkingDir(dir)).name);
    expect(new Set(names).size).toBe(4);
  });

  it('holds the files by relative path in byte order, without __pycache__, .git, node_modules', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'B.py'), '');
    writeFileSync(join(dir, '10'), '');
    writeFileSync(join(dir, '9'), '');
    const pkg = await packWorkingDir(dir);
    const files = unzipSync(pkg.zip);
    expect(Object.keys(files).sort()).toEqual(['10', '9', 'B.py', 'lib/util.py', 'main.py', 'run.sh']);
    expect(new TextDecoder().decode(files['lib/util.py'])).toBe('X = 1\n');
    expect(pkg.files).toBe(6);
    // Entry order in the archive itself (local headers): byte order of the paths.
    const order: string[] = [];
    const view = Buffer.from(pkg.zip);
    for (let at = view.indexOf('PK\x03\x04'); at >= 0; at = view.indexOf('PK\x03\x04', at + 4)) {
      order.push(view.toString('utf8', at + 30, at + 30 + view.readUInt16LE(at + 26)));
    }
    expect(order).toEqual(['10', '9', 'B.py', 'lib/util.py', 'main.py', 'run.sh']);
  });

  it('keeps the exec bit (Ray restores modes from the zip) and reads symlinked files, not symlinked folders', async () => {
    const dir = folder();
    const outside = tempDir('lakeray-pkg-outside-');
    writeFileSync(join(outside, 'shared.py'), 'SHARED = 1\n');
    symlinkSync(join(outside, 'shared.py'), join(dir, 'shared.py'));
    symlinkSync(outside, join(dir, 'linked-dir'));
    symlinkSync(join(dir, 'missing'), join(dir, 'dangling'));
    const pkg = await packWorkingDir(dir);
    expect(Object.keys(unzipSync(pkg.zip))).toContain('shared.py');
    expect(Object.keys(unzipSync(pkg.zip)).some((p) => p.startsWith('linked-dir'))).toBe(false);
    const central = Buffer.from(pkg.zip);
    const modes = new Map<string, number>();
    for (let at = central.indexOf('PK\x01\x02'); at >= 0; at = central.indexOf('PK\x01\x02', at + 4)) {
      const name = central.toString('utf8', at + 46, at + 46 + central.readUInt16LE(at + 28));
      modes.set(name, central.readUInt32LE(at + 38) >>> 16);
    }
    expect(modes.get('run.sh')).toBe(0o100755);
    expect(modes.get('main.py')).toBe(0o100644);
  });

  it('refuses a zip over the limit, naming the largest files', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'weights.bin'), randomBytes(64 * 1024));
    const err = await packWorkingDir(dir, { maxBytes: 16 * 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackageTooLargeError);
    expect((err as Error).message).toMatch(/over Ray's limit of 16\.0 KiB; largest files: weights\.bin \(64\.0 KiB\)/);
  });

  it('refuses to read more than maxRawBytes of files, before compressing anything', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'zeros.bin'), Buffer.alloc(200_000));
    const err = await packWorkingDir(dir, { maxRawBytes: 100_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackageTooLargeError);
    expect((err as Error).message).toContain('largest: zeros.bin');
  });
});
