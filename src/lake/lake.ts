/**
 * The lake (DESIGN.md §6): named, versioned tables of two kinds, datasets and models, stored
 * as Lance under `<root>/datasets/<name>.lance` and `<root>/models/<name>.lance`. The engine
 * depends on this interface only; `lance/` implements it with @lancedb/lancedb.
 *
 * Data crosses this interface as Arrow: record batches from `apache-arrow` (loaded through
 * ./arrow.ts, the same CJS build LanceDB uses, so instanceof checks hold).
 */
import type { RecordBatch, Schema, Table } from './arrow.ts';

export const LAKE_KINDS = ['datasets', 'models'] as const;
export type LakeKind = (typeof LAKE_KINDS)[number];

/** One column of a table's schema, with a readable type such as `List[Float32, 784]`. */
export interface ColumnInfo {
  name: string;
  /** Readable type: Int64, Float32, String, Binary, List[Float32], List[Float32, 784] (fixed size), Struct{a: Int64}, Timestamp[ms]… */
  type: string;
  nullable: boolean;
}

export interface TableInfo {
  kind: LakeKind;
  name: string;
  /** Where it lives: a local path or an object-store URI. */
  uri: string;
  columns: ColumnInfo[];
  num_rows: number;
  /** Bytes of every file of every version still on disk (data, manifests, deletions, indices). */
  size_bytes: number;
  /** Current (latest) version. */
  version: number;
  /** Time of version 1 and of the latest version (epoch ms). */
  created_at: number;
  updated_at: number;
  tags: Record<string, number>;
}

export interface VersionInfo {
  version: number;
  /** Epoch ms. */
  timestamp: number;
  num_rows: number;
  /** Tags that point at this version. */
  tags: string[];
}

/** A version is its number or a tag's name; undefined is the latest. */
export type VersionRef = number | string | undefined;

export interface ScanOptions {
  /** Columns to return, in this order; undefined is all. Unknown column → LakeError BAD_COLUMN. */
  columns?: readonly string[];
  /** A SQL filter expression (`label = 3 AND split = 'test'`). Invalid → LakeError BAD_FILTER. */
  filter?: string;
  version?: VersionRef;
}

export interface RowsOptions extends ScanOptions {
  offset: number;
  limit: number;
}

export type WriteMode = 'create' | 'overwrite' | 'append';

export interface WriteResult {
  version: number;
  num_rows: number;
}

/**
 * Errors the lake raises for a caller's mistake. The engine maps them to API codes:
 * NOT_FOUND → DATASET_NOT_FOUND / MODEL_NOT_FOUND, ALREADY_EXISTS → 409, the rest → 400.
 */
export type LakeErrorKind = 'NOT_FOUND' | 'VERSION_NOT_FOUND' | 'TAG_NOT_FOUND' | 'ALREADY_EXISTS' | 'BAD_FILTER' | 'BAD_COLUMN' | 'BAD_DATA';

export class LakeError extends Error {
  constructor(
    readonly kind: LakeErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'LakeError';
  }
}

export interface ListPage {
  offset: number;
  limit: number;
}

export interface Lake {
  /** Root URI of the lake (a directory, or s3://bucket/prefix). */
  readonly root: string;
  /** Tables by name; `page` takes that slice of the sorted names before describing them. */
  list(kind: LakeKind, page?: ListPage): Promise<TableInfo[]>;
  /** NOT_FOUND when absent. */
  describe(kind: LakeKind, name: string): Promise<TableInfo>;
  exists(kind: LakeKind, name: string): Promise<boolean>;
  /** A page of rows as Arrow (the caller renders cells). `total` counts rows matching the filter. */
  rows(kind: LakeKind, name: string, opts: RowsOptions): Promise<{ table: Table; total: number; version: number }>;
  /** The version number a reference means now (the latest, a tag's version, or the number itself if it exists). */
  resolve(kind: LakeKind, name: string, ref: VersionRef): Promise<number>;
  /** Every version still on disk, oldest first. */
  versions(kind: LakeKind, name: string): Promise<VersionInfo[]>;
  /** Stream a scan as record batches; `version` is the version actually read (pinned before the first batch). */
  scan(kind: LakeKind, name: string, opts: ScanOptions): Promise<{ schema: Schema; version: number; batches: AsyncIterable<RecordBatch> }>;
  /**
   * Write batches as a new version. `create` fails with ALREADY_EXISTS when the table exists;
   * `append` creates it when missing; the schema of an append must match (else BAD_DATA).
   */
  write(kind: LakeKind, name: string, data: Table, mode: WriteMode): Promise<WriteResult>;
  /** Create or move a tag to a version. */
  tag(kind: LakeKind, name: string, tag: string, version: number): Promise<void>;
  untag(kind: LakeKind, name: string, tag: string): Promise<void>;
  /** Delete the table and every version of it. NOT_FOUND when absent. */
  delete(kind: LakeKind, name: string): Promise<void>;
  /** Drop what this process caches of a table (another node deleted it); every table without a name. */
  forgetCached(kind?: LakeKind, name?: string): void;
  close(): Promise<void>;
}

/** What produced one version of a dataset or model. */
export interface LineageRecord {
  kind: LakeKind;
  name: string;
  /** The version the write created. */
  version: number;
  task_id: string;
  script: string;
  params: Record<string, unknown>;
  /** Exactly what the task read before this write: each dataset or model with the version read. */
  inputs: { kind: LakeKind; name: string; version: number }[];
  /** Epoch ms. */
  created_at: number;
}

/**
 * Where lineage lives: next to the data (a Lance table under `<root>/_lakeray/`), so a lake
 * moved to another platform instance, or read from a cluster, carries its history along.
 */
export interface LineageLog {
  record(rec: LineageRecord): Promise<void>;
  /** Records of one table, newest version first. */
  of(kind: LakeKind, name: string): Promise<LineageRecord[]>;
  /** Forget a deleted table's records. */
  forget(kind: LakeKind, name: string): Promise<void>;
  close(): Promise<void>;
}
