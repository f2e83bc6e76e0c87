/**
 * Schema migrations for the PostgreSQL store: append-only files `NNN_name.sql` in ./migrations
 * (the same rules and file loader as the SQLite store's). All pending files run in ONE
 * transaction (PostgreSQL's DDL is transactional, so a failing file leaves the schema as it
 * was) under a transaction-scoped advisory lock: several processes starting on one database
 * at once apply each file once, the others wait and then find nothing left to do.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { loadMigrations, type Migration } from '../sqlite/migrate.ts';

export const PG_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Any constant works; it names "Lakeray's migrations" among the database's advisory locks. */
const MIGRATION_LOCK = 7_140_001;

/** Applies pending migrations; returns the versions this call applied. */
export async function migratePostgres(client: pg.ClientBase, dir: string = PG_MIGRATIONS_DIR): Promise<number[]> {
  const migrations = loadMigrations(dir);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER NOT NULL PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at BIGINT  NOT NULL
    )`);
    const done: number[] = [];
    const { rows } = await client.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    for (const m of pending(migrations, new Map(rows.map((r) => [r.version, r.name])))) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      done.push(m.version);
    }
    await client.query('COMMIT');
    return done;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * The migrations not yet applied, in order. Refuses a database migrated by newer code (its
 * schema is unknown here) and a recorded version whose file now has another name.
 */
export function pending(migrations: readonly Migration[], applied: ReadonlyMap<number, string>): Migration[] {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const [version, name] of applied) {
    const file = byVersion.get(version);
    if (!file) throw new Error(`database has migration ${version}_${name}, unknown to this version of Lakeray`);
    if (file.name !== name) throw new Error(`migration ${version} is recorded as "${name}" but the file is "${file.name}"`);
  }
  return migrations.filter((m) => !applied.has(m.version));
}
