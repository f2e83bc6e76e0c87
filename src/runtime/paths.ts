/**
 * Where a task's script and data may live. A task names paths relative to configured roots;
 * anything that resolves (lexically or through a symlink) outside every root is refused, so a
 * submitted task can never read `/etc/shadow` or run a script the operator did not publish.
 *
 * The engine calls these at submit time (to answer 4xx early) and the executor again at run
 * time (the file system may have changed in between), so they are idempotent: resolving an
 * already-resolved path returns it unchanged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakerayError } from '../domain/errors.ts';

export type ScriptRuntime = 'python' | 'node';

const RUNTIME_BY_EXTENSION: Readonly<Record<string, ScriptRuntime>> = {
  '.py': 'python',
  '.js': 'node',
  '.mjs': 'node',
  '.ts': 'node',
  '.mts': 'node',
};

/** The runtime that runs a script, from its extension; null when no runtime handles it. */
export const scriptRuntime = (script: string): ScriptRuntime | null =>
  RUNTIME_BY_EXTENSION[path.extname(script).toLowerCase()] ?? null;

/** True when `child` is `parent` or lies below it (both absolute and normalized). */
const isInside = (parent: string, child: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
};

/**
 * realpath of the longest existing prefix, with the missing rest appended: an output path that
 * does not exist yet is still checked against symlinks in the directories above it.
 */
const realpathNearest = (p: string): string => {
  const missing: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...missing.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.join(cur, ...missing.reverse());
      missing.push(path.basename(cur));
      cur = parent;
    }
  }
};

const checkPathString = (p: string, what: string): void => {
  if (typeof p !== 'string' || p.length === 0) throw new LakerayError('INVALID_REQUEST', `${what} path is empty`);
  if (p.includes('\0')) throw new LakerayError('INVALID_REQUEST', `${what} path contains a NUL byte`);
};

/** Both the lexical path and its real location must stay inside the root. */
const insideRoot = (root: string, candidate: string): boolean =>
  isInside(root, candidate) && isInside(realpathNearest(root), realpathNearest(candidate));

/**
 * Resolve a script name to the absolute real path of an existing file inside one of `roots`.
 * Relative names are tried against each root in order (the first root holding the file wins).
 */
export const resolveScript = (script: string, roots: readonly string[]): string => {
  checkPathString(script, 'script');
  if (roots.length === 0) throw new LakerayError('INVALID_REQUEST', 'no script roots are configured');
  const absRoots = roots.map((r) => path.resolve(r));
  const candidates = path.isAbsolute(script)
    ? [path.normalize(script)]
    : absRoots.map((root) => path.resolve(root, script));

  let escaped = true;
  for (const candidate of candidates) {
    const roots = absRoots.filter((root) => isInside(root, candidate));
    if (roots.length === 0) continue;
    escaped = false;
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      continue; // missing here; a later root may hold it
    }
    if (!roots.some((root) => isInside(realpathNearest(root), real))) {
      throw new LakerayError('INVALID_REQUEST', `script "${script}" resolves (through a symlink) outside the script roots`);
    }
    if (!fs.statSync(real).isFile()) throw new LakerayError('SCRIPT_NOT_FOUND', `script "${script}" is not a file`);
    return real;
  }
  if (escaped) {
    throw new LakerayError('INVALID_REQUEST', `script "${script}" is outside the script roots: name a script by its path inside one (e.g. "train.py")`);
  }
  throw new LakerayError('SCRIPT_NOT_FOUND', `script "${script}" not found in the script roots`);
};

/**
 * Scripts the platform itself ships (the serving replica, runtimes/serving): a task may name
 * them like any script. They come after the configured roots, so an operator's own file of
 * the same name wins.
 */
export const BUILTIN_SCRIPT_ROOTS: readonly string[] = [path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'runtimes', 'serving')];

/** The configured script roots, then the built-in ones. */
export const withBuiltinScriptRoots = (configured: readonly string[]): string[] => [...new Set([...configured, ...BUILTIN_SCRIPT_ROOTS])];

/** How long a resolved script path is reused by resolveScriptCached. */
export const SCRIPT_CACHE_TTL_MS = 1000;
const SCRIPT_CACHE_MAX = 10_000;
const scriptCache = new Map<string, { real: string; until: number }>();

/**
 * resolveScript, remembered for SCRIPT_CACHE_TTL_MS per (script, roots): the executor calls it
 * for every task, and the realpath/stat calls cost more than the rest of a no-op task's
 * dispatch. An edited, moved or deleted script is noticed at most that long after the change
 * (a script that runs in the meantime under the old path fails when its harness loads it).
 * Only successes are remembered: a missing or refused script is checked again every time.
 */
export const resolveScriptCached = (script: string, roots: readonly string[], now = performance.now()): string => {
  const key = `${roots.join('\0')}\0\0${script}`;
  const hit = scriptCache.get(key);
  if (hit !== undefined && hit.until > now) return hit.real;
  const real = resolveScript(script, roots);
  if (scriptCache.size >= SCRIPT_CACHE_MAX) scriptCache.clear(); // bounded; refilled in one TTL
  scriptCache.set(key, { real, until: now + SCRIPT_CACHE_TTL_MS });
  return real;
};

/** Forget every remembered script path (tests; a server that knows its scripts changed). */
export const clearScriptCache = (): void => {
  scriptCache.clear();
};

/**
 * A task's input/output names a lake dataset or model when it is a bare identifier
 * (`mnist_clean`: letters, digits, `_`, `-`; no dot, no slash), and a file path inside the
 * data roots otherwise (`in.txt`, `raw/mnist`, `/data/x`). One rule, so "out.txt" is never
 * mistaken for a dataset, nor "mnist_clean" for a file.
 */
export const isLakeName = (value: string): boolean => /^[A-Za-z_][A-Za-z0-9_-]*$/.test(value);

/**
 * How an operator lets tasks read a folder. Refusals name the caller's own path and this, never
 * the server's roots: on a shared server those are not the caller's business.
 */
export const DATA_ROOTS_HOW = 'the server operator can allow a folder by adding it to data_roots in lakeray.yaml or to LAKERAY_DATA_ROOTS (colon-separated)';

/**
 * Resolve a task's input/output path: relative paths land inside the first data root, absolute
 * paths are accepted only inside some data root. The path need not exist (outputs usually don't).
 */
export const resolveDataPath = (p: string, roots: readonly string[]): string => {
  checkPathString(p, 'data');
  if (roots.length === 0) throw new LakerayError('INVALID_REQUEST', `no data roots are configured; ${DATA_ROOTS_HOW}`);
  const absRoots = roots.map((r) => path.resolve(r));
  if (path.isAbsolute(p)) {
    const candidate = path.normalize(p);
    if (absRoots.some((root) => insideRoot(root, candidate))) return candidate;
    throw new LakerayError('INVALID_REQUEST', `path "${p}" is outside the data roots; ${DATA_ROOTS_HOW}`);
  }
  const root = absRoots[0] as string;
  const candidate = path.resolve(root, p);
  if (!isInside(root, candidate)) {
    throw new LakerayError('INVALID_REQUEST', `path "${p}" escapes the data root (relative paths stay inside the first data root)`);
  }
  if (!insideRoot(root, candidate)) {
    throw new LakerayError('INVALID_REQUEST', `path "${p}" resolves (through a symlink) outside the data root`);
  }
  return candidate;
};
