/**
 * What the lake service answers (lake-service.ts): its view types, and the conversions from the
 * Lake adapter's rows and errors to them.
 */
import type { Readable } from 'node:stream';
import { LakerayError, type ErrorCode } from '../../domain/errors.ts';
import { LakeError, type ColumnInfo, type LakeKind, type LineageRecord, type TableInfo, type VersionRef } from '../lake.ts';
import type { Cell } from './cells.ts';

export const LAKE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

/** Columns of a model table as the platform writes it. */
export const MODEL_META_COLUMNS = ['file', 'content_type', 'size', 'metrics', 'params', 'lineage', 'task_id', 'created_at'];

export interface LakeQuery {
  columns?: string[];
  filter?: string;
  /** A version number or a tag. */
  version?: string;
}

export interface RowsQuery extends LakeQuery {
  offset: number;
  limit: number;
  /** Columns returned whole instead of summarized. */
  expand?: string[];
}

export interface TableView {
  id: string;
  kind: LakeKind;
  path: string;
  /** Column name → readable type (seed 004's shape). */
  schema: Record<string, string>;
  columns: ColumnInfo[];
  num_rows: number;
  size_bytes: number;
  version: number;
  created_at: string;
  updated_at: string;
  tags: Record<string, number>;
}

export interface ModelFile {
  file: string;
  content_type: string | null;
  size: number;
}

export interface TableDetail extends TableView {
  /** The newest lineage records (what produced each version), newest first. */
  lineage: LineageRecord[];
  /** Models written by the platform: the files and what training reported. */
  files?: ModelFile[];
  metrics?: Record<string, unknown>;
  params?: Record<string, unknown>;
  task_id?: string | null;
}

export interface RowsPage {
  id: string;
  version: number;
  offset: number;
  limit: number;
  total: number;
  columns: ColumnInfo[];
  rows: Record<string, Cell>[];
}

export interface ArrowRead {
  version: number;
  /** An Arrow IPC stream. */
  body: Readable;
}

export interface WriteSummary {
  name: string;
  kind: LakeKind;
  version: number;
  num_rows: number;
}

export const notFound = (kind: LakeKind): ErrorCode => (kind === 'datasets' ? 'DATASET_NOT_FOUND' : 'MODEL_NOT_FOUND');
export const noun = (kind: LakeKind): string => (kind === 'datasets' ? 'dataset' : 'model');

/** A LakeError (caller's mistake) as the API error it is. */
export const toApiError = (err: unknown, kind: LakeKind): unknown => {
  if (!(err instanceof LakeError)) return err;
  switch (err.kind) {
    case 'NOT_FOUND':
      return new LakerayError(notFound(kind), err.message);
    case 'VERSION_NOT_FOUND':
    case 'TAG_NOT_FOUND':
      return new LakerayError('VERSION_NOT_FOUND', err.message);
    case 'ALREADY_EXISTS':
      return new LakerayError(kind === 'datasets' ? 'DATASET_EXISTS' : 'MODEL_EXISTS', err.message);
    default:
      return new LakerayError('INVALID_REQUEST', err.message);
  }
};

/** The upload, counting its bytes into `into.bytes` as they pass. */
export async function* counted(body: AsyncIterable<Uint8Array>, into: { bytes: number }): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    into.bytes += chunk.byteLength;
    yield chunk;
  }
}

export const versionRef = (v: string | undefined): VersionRef => (v === undefined || v === '' ? undefined : /^\d+$/.test(v) ? Number(v) : v);

export const iso = (ms: number): string => new Date(ms).toISOString();

export const view = (t: TableInfo): TableView => ({
  id: t.name,
  kind: t.kind,
  // Relative to the tenant's namespace: a response never names a server path (docs/security.md).
  path: `${t.kind}/${t.name}.lance`,
  schema: Object.fromEntries(t.columns.map((c) => [c.name, c.type])),
  columns: t.columns,
  num_rows: t.num_rows,
  size_bytes: t.size_bytes,
  version: t.version,
  created_at: iso(t.created_at),
  updated_at: iso(t.updated_at),
  tags: t.tags,
});

export const parseJson = (s: unknown): Record<string, unknown> => {
  if (typeof s !== 'string' || s === '') return {};
  try {
    const v = JSON.parse(s) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};
