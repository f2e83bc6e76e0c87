/**
 * @lancedb/lancedb, loaded once and quietly. The native module sets up its Rust logger from
 * LANCEDB_LOG when it loads, so the variable has to be in place before the first require;
 * `error` keeps Lance's WARN lines (e.g. from lance::dataset::write::insert) out of the
 * server's stderr unless someone asks for them by setting LANCEDB_LOG themselves.
 *
 * It is loaded through createRequire, like ../arrow.ts: LanceDB is CommonJS and requires the
 * CJS apache-arrow, the same copy ../arrow.ts hands out.
 */
import { createRequire } from 'node:module';

process.env.LANCEDB_LOG ??= 'error';

const require = createRequire(import.meta.url);
const lancedb = require('@lancedb/lancedb') as typeof import('@lancedb/lancedb');

export default lancedb;
export type { Connection, Table as LanceTable } from '@lancedb/lancedb';
