/**
 * `-p key=value` parsing for `lakeray submit`. Values that are valid JSON keep their type
 * (`-p epochs=2` is the number 2, `-p tags=["a","b"]` an array), anything else is a string,
 * so quoting is only needed to force a string (`-p id='"007"'`). Dotted keys build nested
 * objects (`-p optim.lr=0.1`). Assignments apply in order and the last one wins, over
 * `--params-json` too, so a flag can override one field of a JSON blob.
 */
import { UsageError } from './errors.ts';

export type Params = Record<string, unknown>;

/** JSON if the text parses as JSON, else the text itself. */
export function parseParamValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** `a.b.c` → ['a','b','c']; rejects empty segments and keys that would touch prototypes. */
export function parseKey(key: string): string[] {
  const parts = key.split('.');
  for (const p of parts) {
    if (p === '') throw new UsageError(`invalid param key "${key}": empty segment`);
    if (p === '__proto__' || p === 'constructor' || p === 'prototype')
      throw new UsageError(`invalid param key "${key}": "${p}" is reserved`);
  }
  return parts;
}

const isPlainObject = (v: unknown): v is Params => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets a nested value, replacing any non-object met on the way (last write wins). */
export function setPath(target: Params, path: string[], value: unknown): void {
  let node = target;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (!isPlainObject(next)) node[key] = {};
    node = node[key] as Params;
  }
}

/** Parses one `key=value` (split at the first `=`). */
export function parseAssignment(text: string): { path: string[]; value: unknown } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`invalid param "${text}": expected key=value`);
  return { path: parseKey(text.slice(0, eq)), value: parseParamValue(text.slice(eq + 1)) };
}

/** `--params-json` must be a JSON object. */
export function parseParamsJson(text: string): Params {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--params-json is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(doc)) throw new UsageError('--params-json must be a JSON object');
  return doc;
}

/** Builds the params object: `--params-json` first, then each `-p` in order. */
export function buildParams(assignments: readonly string[], json?: string): Params {
  const params = json === undefined ? {} : structuredClone(parseParamsJson(json));
  for (const a of assignments) {
    const { path, value } = parseAssignment(a);
    setPath(params, path, value);
  }
  return params;
}

/** `--label k=v` pairs: flat string map (labels are strings on the API). */
export function buildLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid label "${p}": expected key=value`);
    labels[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return labels;
}
