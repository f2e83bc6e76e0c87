/**
 * Schema migrations for the SQLite store.
 *
 * Migrations are append-only files `NNN_name.sql` in ./migrations, treated as source: a file
 * that has been applied is never edited, a change is a new file. Each applied version is
 * recorded in `schema_migrations`. All pending files run in ONE immediate transaction, so a
 * failing migration leaves the schema exactly as it was, and two processes opening the same
 * database at once cannot both apply the same file (the second waits for the write lock,
 * then finds nothing left to do).
 *
 * Foreign keys are off while migrations run (the pragma cannot change inside a transaction, so
 * it is set around it) and checked with `foreign_key_check` before the commit: a migration may
 * rebuild a table the SQLite way (create, copy, drop, rename; 020) without the drop cascading
 * into the rows that reference it, and still cannot leave a dangling reference behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d+)_([\w-]+)\.sql$/;

/** Reads the migration files of `dir`, ordered by version. */
export const loadMigrations = (dir: string = MIGRATIONS_DIR): Migration[] => {
  const migrations = readdirSync(dir)
    .map((file) => ({ file, match: FILE.exec(file) }))
    .filter((f): f is { file: string; match: RegExpExecArray } => f.match !== null)
    .map(({ file, match }) => ({
      version: Number(match[1]),
      name: match[2] as string,
      sql: readFileSync(`${dir}/${file}`, 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new Error(`two migrations share version ${migrations[i]?.version} in ${dir}`);
    }
  }
  return migrations;
};

/**
 * Applies the migrations of `dir` not yet recorded in the database, in version order.
 * Returns the versions applied by this call (empty when the schema was up to date).
 */
export const migrate = (db: Database, dir: string = MIGRATIONS_DIR): number[] => {
  const migrations = loadMigrations(dir);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const appliedRows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @applied_at)');

  const run = db.transaction((): number[] => {
    // Read inside the write transaction: another process may have migrated meanwhile.
    const applied = new Map((appliedRows.all() as { version: number; name: string }[]).map((r) => [r.version, r.name]));
    const known = new Set(migrations.map((m) => m.version));
    for (const [version, name] of applied) {
      // A database migrated by newer code has a schema this code does not know: refuse it
      // rather than run queries against columns that may have changed meaning.
      if (!known.has(version)) throw new Error(`database has migration ${version}_${name}, unknown to this version of Lakeray`);
    }
    const done: number[] = [];
    for (const m of migrations) {
      const recorded = applied.get(m.version);
      if (recorded !== undefined) {
        if (recorded !== m.name) throw new Error(`migration ${m.version} is recorded as "${recorded}" but the file is "${m.name}"`);
        continue;
      }
      db.exec(m.sql);
      record.run({ version: m.version, name: m.name, applied_at: Date.now() });
      done.push(m.version);
    }
    const dangling = done.length ? (db.pragma('foreign_key_check') as { table: string; parent: string }[]) : [];
    if (dangling.length) throw new Error(`migrations ${done.join(', ')} left ${dangling.length} rows of ${dangling[0]?.table} without their ${dangling[0]?.parent} row`);
    return done;
  });
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  if (foreignKeys) db.pragma('foreign_keys = OFF');
  try {
    return run.immediate();
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
};
