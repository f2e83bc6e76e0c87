/**
 * The key and audit tables of the configured store, opened by themselves for `lakeray keys`:
 * the operator's bootstrap, when no key exists yet to call the API with. SQLite is opened
 * without the server's lock file (the server may be running and holding it): the key tables
 * are not cached by the engine, and SQLite's own locking orders the writes. pg is loaded only
 * for PostgreSQL.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrate } from '../store/sqlite/migrate.ts';
import { SqliteAudit } from '../store/sqlite/audit.ts';
import { SqliteKeys } from '../store/sqlite/keys.ts';
import type { KeyStores } from './keys.ts';

export type KeyStoreConfig = { kind: 'sqlite'; path?: string | undefined } | { kind: 'postgres'; url: string };

export async function openKeyStores(store: KeyStoreConfig, stateDir = '.lakeray'): Promise<KeyStores & { close(): Promise<void> }> {
  if (store.kind === 'postgres') {
    const { PostgresTaskStore } = await import('../store/postgres/postgres-store.ts');
    const pg = await PostgresTaskStore.open({ url: store.url, poolSize: 2 });
    return { keys: pg.keys, audit: pg.audit, close: () => pg.close() };
  }
  const path = store.path ?? join(stateDir, 'lakeray.db');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return { keys: new SqliteKeys(db), audit: new SqliteAudit(db), close: async () => void db.close() };
}
