/**
 * One entry of the seed's Redis progress stream, read as a task event (seed 001 §2, seed
 * 002's serve_app.py). Generators XADD flat string fields:
 *   progress: task_id <id> status RUNNING progress 45
 *   done:     task_id <id> status COMPLETED progress 100 url s3://bucket/key.mp4
 *   failed:   task_id <id> status FAILED error "<message>"
 * `progress` is a percentage (the seed sends "100" when done), read here as a fraction 0–1.
 * `status` decides the kind: COMPLETED (or SUCCEEDED, SUCCESS, DONE, FINISHED) is the
 * result, FAILED (or FAILURE, ERROR) the error, anything else — RUNNING, PROCESSING, none
 * at all — progress; with no status, an `error` field makes it an error.
 * Pure: no Redis here, so the mapping is tested on its own.
 */
export type SeedEntryKind = 'progress' | 'result' | 'error';

export interface SeedProgressEntry {
  stream: string;
  /** the stream entry id: delivery is at least once, so the same id may come again */
  id: string;
  taskId: string;
  kind: SeedEntryKind;
  /** as sent, upper-cased; null when absent */
  status: string | null;
  /** 0–1, from the seed's percentage; null when absent or not a number */
  fraction: number | null;
  url: string | null;
  error: string | null;
  /** every field as sent (e.g. a `message` the generator added) */
  fields: Record<string, string>;
}

const RESULT = new Set(['COMPLETED', 'SUCCEEDED', 'SUCCESS', 'DONE', 'FINISHED']);
const ERROR = new Set(['FAILED', 'FAILURE', 'ERROR']);

/** The entry, or why it cannot be one (no task_id): such an entry is counted and dropped. */
export function parseSeedEntry(stream: string, id: string, flat: readonly string[]): SeedProgressEntry | { invalid: string } {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  const taskId = fields.task_id?.trim();
  if (!taskId) return { invalid: `entry ${id} of ${stream} has no task_id` };
  const status = fields.status?.trim().toUpperCase() || null;
  const error = fields.error ?? null;
  const kind: SeedEntryKind =
    status && RESULT.has(status) ? 'result' : (status && ERROR.has(status)) || (!status && error) ? 'error' : 'progress';
  return { stream, id, taskId, kind, status, fraction: percentToFraction(fields.progress), url: fields.url || null, error, fields };
}

function percentToFraction(v: string | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(v.trim().replace(/%$/, ''));
  if (v.trim() === '' || !Number.isFinite(n)) return null;
  return Math.min(1, Math.max(0, n / 100));
}
