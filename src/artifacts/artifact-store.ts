/**
 * ArtifactStore: the files tasks produce (`ctx.artifact(path)`), kept per task and served at
 * /api/v1/tasks/{id}/artifacts/{name}. local/ keeps them under <root>/<task_id>/<name>;
 * s3/ implements the same interface on an object store: `stagingDir` stays a local
 * directory, `ingest` uploads (one atomic PUT) and `read` becomes a ranged GET.
 *
 * Contract:
 * - `ingest` makes an artifact visible only whole (no reader ever sees half a file); a file
 *   inside the task's staging dir is moved (a rename on the same file system), any other
 *   file is copied, so a script reporting its output path never loses it. A second artifact
 *   with the same name replaces the first.
 * - Names are single path segments (`artifactName` makes one of anything a script sends).
 * - `deleteTask` removes the task's artifacts and its staging dir; it is idempotent.
 */
import type { Readable } from 'node:stream';

export interface ArtifactInfo {
  name: string;
  content_type: string;
  size: number;
  /** epoch ms */
  created_at: number;
}

export interface ArtifactSource {
  /** Absolute path of the file the task wrote. */
  path: string;
  name: string;
  content_type?: string | null;
}

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ArtifactStore {
  /** Where a task writes files before reporting them (LAKERAY_WORK_DIR); on the store's file system. */
  stagingDir(taskId: string): string;
  ingest(taskId: string, source: ArtifactSource): Promise<ArtifactInfo>;
  list(taskId: string): Promise<ArtifactInfo[]>;
  /** null when the task has no artifact of that name. */
  stat(taskId: string, name: string): Promise<ArtifactInfo | null>;
  /** The artifact's bytes (a range of them); rejects when it does not exist. */
  read(taskId: string, name: string, range?: ByteRange): Promise<Readable>;
  /** Removes the task's staging dir (the files the task did not report). */
  clearStaging(taskId: string): Promise<void>;
  /** Removes every artifact of the task and its staging dir. */
  deleteTask(taskId: string): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  gif: 'image/gif',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  html: 'text/html; charset=utf-8',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  onnx: 'application/octet-stream',
};

/** The content type of a file name by its extension (application/octet-stream when unknown). */
export const contentTypeOf = (name: string): string => CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(\s*;\s*[a-z0-9_-]+=[a-z0-9_.-]+)?$/i;

/** The script's content type when it is a well-formed media type, else one guessed from the name. */
export const artifactContentType = (name: string, given: unknown): string =>
  typeof given === 'string' && MEDIA_TYPE.test(given) ? given : contentTypeOf(name);

/** A safe single path segment from whatever name a script reported (its base name, odd characters replaced). */
export function artifactName(raw: unknown, fallbackPath: string): string {
  const base = (typeof raw === 'string' && raw.length > 0 ? raw : fallbackPath).split(/[\\/]/).pop() ?? '';
  let name = base.replace(/[^\p{L}\p{N}._ -]/gu, '_').replace(/^[.\s]+/, '').trim();
  if (Buffer.byteLength(name) > 200) name = name.slice(-100);
  return name.length > 0 ? name : 'artifact';
}

/** True for a name `artifactName` could have produced (what the API accepts in a URL). */
export const isArtifactName = (name: string): boolean =>
  name.length > 0 && Buffer.byteLength(name) <= 200 && !/^[.\s]/.test(name) && /^[\p{L}\p{N}._ -]+$/u.test(name);

/** Task ids are path segments too: nothing but [A-Za-z0-9_-]. */
export const isSafeId = (id: string): boolean => /^[A-Za-z0-9_-]{1,200}$/.test(id);
