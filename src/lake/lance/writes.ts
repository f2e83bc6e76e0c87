/**
 * The two ways a version gets written. Both go through the kind's `write` connection (see
 * handles.ts for why) on a handle opened for the occasion and closed after, so the version
 * they return is the one they committed, and a table dropped by someone else is seen as
 * missing rather than written into.
 */
import type { Table } from '../arrow.ts';
import { LakeError } from '../lake.ts';
import type { LakeKind } from '../lake.ts';
import { isAlreadyExists, isTableMissing, singular } from './errors.ts';
import type { TableHandles } from './handles.ts';
import type { LanceTable } from './lancedb.ts';
import { appendMismatch } from './schema-check.ts';

/** LanceDB retries commit conflicts itself; these are what may still come out of a race. */
const RETRYABLE_COMMIT = /commit conflict|retryable/i;
const ATTEMPTS = 3;

/** `create` fails when the table exists; `overwrite` of an existing one commits a new version (history and tags stay). */
export async function createTable(handles: TableHandles, kind: LakeKind, name: string, data: Table, mode: 'create' | 'overwrite'): Promise<number> {
  const table = await (await handles.connection(kind, 'write')).createTable(name, data, { mode });
  try {
    return await table.version();
  } finally {
    table.close();
  }
}

/** Appends, creating the table when missing; BAD_DATA when the schema differs. */
export async function appendTo(handles: TableHandles, kind: LakeKind, name: string, data: Table): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    let table: LanceTable;
    try {
      table = await (await handles.connection(kind, 'write')).openTable(name);
    } catch (err) {
      if (!isTableMissing(err)) throw err;
      try {
        return await createTable(handles, kind, name, data, 'create');
      } catch (createErr) {
        if (attempt < ATTEMPTS && isAlreadyExists(createErr)) continue; // created meanwhile by someone else: append after all
        throw createErr;
      }
    }
    try {
      const mismatch = appendMismatch(await table.schema(), data);
      if (mismatch) throw new LakeError('BAD_DATA', `cannot append to ${singular(kind)} "${name}": ${mismatch}`);
      return (await table.add(data)).version;
    } catch (err) {
      if (attempt < ATTEMPTS && !(err instanceof LakeError) && RETRYABLE_COMMIT.test(String(err))) continue;
      throw err;
    } finally {
      table.close();
    }
  }
}
