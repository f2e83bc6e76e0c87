import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { SCRIPT_CACHE_TTL_MS, resolveDataPath, resolveScript, resolveScriptCached, scriptRuntime } from '../../../src/runtime/paths.ts';
import { tempDir } from './helpers.ts';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof LakerayError ? err.code : 'not a LakerayError';
  }
  return undefined;
};

describe('script and data paths', () => {
  const base = tempDir();
  const scripts = path.join(base, 'scripts');
  const other = path.join(base, 'other');
  const data = path.join(base, 'data');
  fs.mkdirSync(path.join(scripts, 'sub'), { recursive: true });
  fs.mkdirSync(other);
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(scripts, 'sub', 'a.py'), '');
  fs.writeFileSync(path.join(other, 'secret.py'), '');
  fs.writeFileSync(path.join(other, 'b.py'), '');
  fs.symlinkSync(path.join(other, 'secret.py'), path.join(scripts, 'link.py'));
  fs.symlinkSync(other, path.join(data, 'outside'));
  const real = fs.realpathSync(scripts);

  it('resolves relative and absolute scripts inside a root, trying roots in order', () => {
    expect(resolveScript('sub/a.py', [scripts])).toBe(path.join(real, 'sub/a.py'));
    expect(resolveScript(path.join(scripts, 'sub/a.py'), [scripts])).toBe(path.join(real, 'sub/a.py'));
    expect(resolveScript('b.py', [scripts, other])).toBe(path.join(fs.realpathSync(other), 'b.py'));
    expect(resolveScript(resolveScript('sub/a.py', [scripts]), [scripts])).toBe(path.join(real, 'sub/a.py'));
  });

  it('rejects escapes (.., absolute outside, symlink out) and reports missing scripts', () => {
    expect(codeOf(() => resolveScript('../other/secret.py', [scripts]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveScript(path.join(other, 'secret.py'), [scripts]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveScript('link.py', [scripts]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveScript('/etc/passwd', [scripts]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveScript('missing.py', [scripts]))).toBe('SCRIPT_NOT_FOUND');
    expect(codeOf(() => resolveScript('sub', [scripts]))).toBe('SCRIPT_NOT_FOUND');
    expect(codeOf(() => resolveScript('', [scripts]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveScript('a\0.py', [scripts]))).toBe('INVALID_REQUEST');
  });

  it('resolves data paths into the first root and refuses escapes', () => {
    expect(resolveDataPath('in/x.csv', [data])).toBe(path.join(data, 'in/x.csv'));
    expect(resolveDataPath(path.join(data, 'y'), [other, data])).toBe(path.join(data, 'y'));
    expect(codeOf(() => resolveDataPath('../x', [data]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveDataPath('a/../../x', [data]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveDataPath('/etc/passwd', [data]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveDataPath('outside/new-file', [data]))).toBe('INVALID_REQUEST');
    expect(codeOf(() => resolveDataPath('x', []))).toBe('INVALID_REQUEST');
    expect(resolveDataPath('..a', [data])).toBe(path.join(data, '..a')); // a name, not an escape
  });

  it('picks a runtime by extension', () => {
    expect(['a.py', 'b.ts', 'c.mjs', 'd.js', 'e.mts', 'f.rb'].map(scriptRuntime)).toEqual(['python', 'node', 'node', 'node', 'node', null]);
  });

  it('remembers a resolved script for a second at most; refusals and misses are never remembered', () => {
    const dir = path.join(base, 'cached');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'c.py');
    const t0 = 1_000_000;
    expect(codeOf(() => resolveScriptCached('c.py', [dir], t0))).toBe('SCRIPT_NOT_FOUND');
    fs.writeFileSync(file, '');
    expect(resolveScriptCached('c.py', [dir], t0 + 1)).toBe(path.join(fs.realpathSync(dir), 'c.py'));
    fs.unlinkSync(file);
    expect(resolveScriptCached('c.py', [dir], t0 + 2)).toBe(path.join(fs.realpathSync(dir), 'c.py')); // within the TTL
    expect(codeOf(() => resolveScriptCached('c.py', [dir], t0 + 2 + SCRIPT_CACHE_TTL_MS))).toBe('SCRIPT_NOT_FOUND');
    expect(codeOf(() => resolveScriptCached('c.py', [dir], t0 + 3 + SCRIPT_CACHE_TTL_MS))).toBe('SCRIPT_NOT_FOUND');
    // Keyed by the roots too: the same name under other roots is resolved on its own.
    expect(codeOf(() => resolveScriptCached('sub/a.py', [other], t0))).toBe('SCRIPT_NOT_FOUND');
    expect(resolveScriptCached('sub/a.py', [scripts], t0)).toBe(path.join(real, 'sub/a.py'));
    expect(codeOf(() => resolveScriptCached('link.py', [scripts], t0))).toBe('INVALID_REQUEST');
  });
});
