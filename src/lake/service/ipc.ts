/**
 * Arrow IPC in and out of the lake service: a scan as one IPC stream, an upload read into a
 * table, and an uploaded model turned into the stored model layout (DESIGN §6).
 */
import { Readable } from 'node:stream';
import { LakerayError } from '../../domain/errors.ts';
import type { Task } from '../../domain/task.ts';
import arrow, { type RecordBatch, type Schema, type Table } from '../arrow.ts';
import type { LineageRecord } from '../lake.ts';

/** Batches as one Arrow IPC stream; an empty scan still carries its schema. */
export function ipcStream(schema: Schema, batches: AsyncIterable<RecordBatch>): Readable {
  const writer = new arrow.RecordBatchStreamWriter();
  const out = writer.toNodeStream();
  void (async () => {
    try {
      let wrote = false;
      for await (const batch of batches) {
        writer.write(batch);
        wrote = true;
      }
      if (!wrote) writer.write(new arrow.Table(schema));
      writer.finish();
    } catch (err) {
      out.destroy(err as Error);
      writer.abort();
    }
  })();
  return out;
}

/** Read a whole uploaded IPC stream into a table (Lance writes it as one version). */
export async function readIpc(body: AsyncIterable<Uint8Array>): Promise<Table> {
  let reader;
  try {
    reader = await arrow.RecordBatchReader.from(body);
    await reader.open();
  } catch (err) {
    if (err instanceof LakerayError) throw err;
    throw new LakerayError('INVALID_REQUEST', `body: not an Arrow IPC stream (${(err as Error).message})`);
  }
  // The reader forgets its schema once drained: take it now.
  const schema = reader.schema as Schema | undefined;
  if (!schema) throw new LakerayError('INVALID_REQUEST', 'body: the Arrow IPC stream is empty (no schema)');
  const batches: RecordBatch[] = [];
  try {
    for await (const b of reader) batches.push(b);
  } catch (err) {
    if (err instanceof LakerayError) throw err;
    throw new LakerayError('INVALID_REQUEST', `body: the Arrow IPC stream is truncated or malformed (${(err as Error).message})`);
  }
  return new arrow.Table(schema, batches);
}

/**
 * An uploaded model (file, data[, content_type] + schema metadata lakeray.metrics and
 * lakeray.params) as the stored model table: one row per file, each carrying the model's
 * metrics, params and lineage, so any single row describes the model.
 */
export function modelTable(upload: Table, task: Task | null, inputs: LineageRecord['inputs'], now: number): Table {
  const file = upload.getChild('file');
  const data = upload.getChild('data');
  if (!file || !data) throw new LakerayError('INVALID_REQUEST', 'body: a model upload needs columns "file" (string) and "data" (binary), one row per file');
  const n = upload.numRows;
  if (n === 0) throw new LakerayError('INVALID_REQUEST', 'body: a model upload needs at least one file');
  const names: string[] = [];
  const blobs: Uint8Array[] = [];
  const types: (string | null)[] = [];
  const ct = upload.getChild('content_type');
  for (let i = 0; i < n; i++) {
    const f = file.get(i) as unknown;
    const d = data.get(i) as unknown;
    if (typeof f !== 'string' || f === '') throw new LakerayError('INVALID_REQUEST', `body: row ${i} has no file name`);
    if (!(d instanceof Uint8Array)) throw new LakerayError('INVALID_REQUEST', `body: row ${i} ("${f}") has no binary data`);
    names.push(f);
    blobs.push(d);
    types.push((ct?.get(i) as string | null | undefined) ?? null);
  }
  if (new Set(names).size !== names.length) throw new LakerayError('INVALID_REQUEST', 'body: file names of a model must be unique');
  const meta = upload.schema.metadata;
  const metrics = meta.get('lakeray.metrics') ?? '{}';
  const params = meta.get('lakeray.params') ?? '{}';
  for (const [k, v] of [['lakeray.metrics', metrics], ['lakeray.params', params]] as const) {
    try {
      JSON.parse(v);
    } catch {
      throw new LakerayError('INVALID_REQUEST', `body: schema metadata ${k} is not JSON`);
    }
  }
  const lineage = task ? JSON.stringify({ task_id: task.id, script: task.script, params: task.params, inputs }) : '{}';
  const repeat = <T>(v: T): T[] => Array.from({ length: n }, () => v);
  const binary = arrow.vectorFromArray(blobs, new arrow.LargeBinary());
  return new arrow.Table({
    file: arrow.vectorFromArray(names, new arrow.Utf8()),
    content_type: arrow.vectorFromArray(types, new arrow.Utf8()),
    data: binary,
    size: arrow.vectorFromArray(
      blobs.map((b) => BigInt(b.byteLength)),
      new arrow.Int64(),
    ),
    metrics: arrow.vectorFromArray(repeat(metrics), new arrow.Utf8()),
    params: arrow.vectorFromArray(repeat(params), new arrow.Utf8()),
    lineage: arrow.vectorFromArray(repeat(lineage), new arrow.Utf8()),
    task_id: arrow.vectorFromArray(repeat(task?.id ?? null), new arrow.Utf8()),
    created_at: arrow.vectorFromArray(repeat(BigInt(now)), new arrow.Int64()),
  });
}
