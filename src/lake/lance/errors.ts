/**
 * Turning LanceDB's errors into LakeErrors. LanceDB raises one class (`Error`, code
 * GenericFailure) for everything, so the kind is read from the message; the message itself
 * carries Rust source paths and repeated "Caused by" chains, which `cleanMessage` drops.
 * Every pattern here was seen from @lancedb/lancedb 0.39 (see test/integration/lake).
 */
import { LakeError } from '../lake.ts';
import type { LakeKind } from '../lake.ts';

const TABLE_MISSING = /Table '[^']*' was not found|Dataset at path \S+\.lance was not found|Not found: \S+\.lance(\/_versions)?(,|\s|$)/;
const VERSION_MISSING = /_versions\/\d+\.manifest was not found|Version not found error|version \S+ does not exist/i;
const TAG_MISSING = /Ref not found error: tag/;
const TAG_EXISTS = /Ref conflict error: tag/;
const TAG_INVALID = /Ref is invalid: ([^\n]*?)(\s+Caused by:|$)/;
const ALREADY_EXISTS = /already exists/;
// With the columns checked first, an invalid query that has a filter is the filter's fault.
const BAD_FILTER = /Invalid input|Error parsing|sql parser error|invalid SQL predicate|Error resolving filter expression|Error during planning|No field named|Schema error|could not convert/i;
const BAD_DATA = /Invalid input|Schema error|not (yet )?supported|Unsupported|Arrow error|Invalid user input|invalid data/i;

export const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Drop Rust source locations, "Caused by" chains and the wrappers LanceDB puts in front. */
export function cleanMessage(raw: string): string {
  let msg = raw.split(/\s+Caused by:/)[0] ?? raw;
  msg = msg.split(/:?\n\s*\w+ \{/)[0] ?? msg; // a Rust struct dump (`Schema {` …)
  msg = msg.replace(/,?\s*\/\S+\.rs:\d+:\d+/g, '');
  msg = msg.replace(/^(Failed to execute query stream: |GenericFailure, |lance error: |Invalid input, |Execution error: |External error: )+/g, '');
  return msg.trim();
}

export const isTableMissing = (err: unknown): boolean => TABLE_MISSING.test(message(err));
export const isVersionMissing = (err: unknown): boolean => VERSION_MISSING.test(message(err));
export const isTagMissing = (err: unknown): boolean => TAG_MISSING.test(message(err));
export const isTagTaken = (err: unknown): boolean => TAG_EXISTS.test(message(err));
export const isAlreadyExists = (err: unknown): boolean => ALREADY_EXISTS.test(message(err));

export const singular = (kind: LakeKind): string => (kind === 'datasets' ? 'dataset' : 'model');

export function tableNotFound(kind: LakeKind, name: string): LakeError {
  return new LakeError('NOT_FOUND', `${singular(kind)} "${name}" does not exist`);
}

export function tableExists(kind: LakeKind, name: string): LakeError {
  return new LakeError('ALREADY_EXISTS', `${singular(kind)} "${name}" already exists`);
}

export function versionNotFound(kind: LakeKind, name: string, version: number | string): LakeError {
  return new LakeError('VERSION_NOT_FOUND', `${singular(kind)} "${name}" has no version ${version}`);
}

export function tagNotFound(kind: LakeKind, name: string, tag: string): LakeError {
  return new LakeError('TAG_NOT_FOUND', `${singular(kind)} "${name}" has no tag "${tag}"`);
}

/** A LakeError for what a read of `kind/name` failed with, or the error itself when it is no caller's mistake. */
export function readError(err: unknown, kind: LakeKind, name: string, filter: string | undefined): unknown {
  if (err instanceof LakeError) return err;
  if (isTableMissing(err)) return tableNotFound(kind, name);
  const msg = message(err);
  if (filter !== undefined && BAD_FILTER.test(msg)) {
    const parser = /\(sql parser error: (.*)\)\s*$/.exec(cleanMessage(msg));
    const reason = parser?.[1] ?? cleanMessage(msg).replace(/^Error parsing statement: /, '');
    return new LakeError('BAD_FILTER', `invalid filter "${filter}": ${inFilterTerms(reason)}`);
  }
  return err;
}

/**
 * Lance parsed the filter inside the parentheses filter.ts puts around it, so its parser
 * speaks of a ")" the user never wrote, and its line and column count from its own SQL.
 */
function inFilterTerms(reason: string): string {
  const plain = reason.replace(/ at Line: \d+, Column: \d+$/, '');
  const extra = /^Expected: \), found: (.+)$/.exec(plain);
  if (extra) return `unexpected "${extra[1]}" after a complete expression; a filter is one expression (join conditions with AND or OR)`;
  if (plain === 'Expected: an expression, found: )') return 'an expression is missing (at the end, or before a ")")';
  return plain;
}

/** A LakeError for what a write of `kind/name` failed with, or the error itself. */
export function writeError(err: unknown, kind: LakeKind, name: string): unknown {
  if (err instanceof LakeError) return err;
  if (isAlreadyExists(err)) return tableExists(kind, name);
  if (BAD_DATA.test(message(err))) return new LakeError('BAD_DATA', `cannot write ${singular(kind)} "${name}": ${cleanMessage(message(err))}`);
  return err;
}

/** A LakeError for the failure of a tag operation (`version` given: creating or moving it), or the error itself. */
export function tagError(err: unknown, kind: LakeKind, name: string, tag: string, version?: number): unknown {
  if (err instanceof LakeError) return err;
  if (isTagMissing(err)) return tagNotFound(kind, name, tag);
  if (version !== undefined && isVersionMissing(err)) return versionNotFound(kind, name, version);
  const invalid = TAG_INVALID.exec(message(err));
  // Naming a tag that cannot exist: a mistake when creating it, simply absent otherwise.
  if (invalid) return version === undefined ? tagNotFound(kind, name, tag) : new LakeError('BAD_DATA', `invalid tag name "${tag}": ${invalid[1]}`);
  if (isTableMissing(err)) return tableNotFound(kind, name);
  return err;
}
