/**
 * Who wrote what, seen by PostgreSQL itself: triggers (test instrumentation, installed after the
 * store's migrations) record for every stored event the writing connection's
 * `application_name` (each Lakeray process of the fault suite gets its own through PGAPPNAME)
 * and the owner and epoch of the task's executor at that moment, inside the writing
 * transaction; and for every claim or renewal of an executor, which process holds which
 * instance id under which epoch.
 *
 * A fenced write share-locks its executor's owner row in its transaction (store/postgres/
 * owners.ts), so the owner the trigger reads is the one that held the executor when the write
 * committed. A write by a scheduler process while the executor's current owner is another
 * instance is a write accepted from a deposed (or never crowned) owner: `deposedWrites` lists
 * them. Every state change of a task appends a `state` event, so events cover every transition.
 */
import pg from 'pg';

const INSTALL = `
  CREATE TABLE fault_event_writes (
    id bigserial PRIMARY KEY, app text NOT NULL, task_id text NOT NULL, seq integer NOT NULL,
    type text NOT NULL, data text NOT NULL, executor text, owner text, epoch integer,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
  CREATE TABLE fault_owner_writes (
    id bigserial PRIMARY KEY, app text NOT NULL, executor text NOT NULL, owner text, epoch integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
  CREATE FUNCTION fault_event_write() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO fault_event_writes (app, task_id, seq, type, data, executor, owner, epoch)
    SELECT current_setting('application_name'), NEW.task_id, NEW.seq, NEW.type, NEW.data, t.executor, o.owner, o.epoch
    FROM tasks t LEFT JOIN executor_owners o ON o.executor = t.executor WHERE t.id = NEW.task_id;
    RETURN NEW;
  END $$;
  CREATE FUNCTION fault_owner_write() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO fault_owner_writes (app, executor, owner, epoch) VALUES (current_setting('application_name'), NEW.executor, NEW.owner, NEW.epoch);
    RETURN NEW;
  END $$;
  CREATE TRIGGER fault_event_write AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION fault_event_write();
  CREATE TRIGGER fault_owner_write AFTER INSERT OR UPDATE ON executor_owners FOR EACH ROW EXECUTE FUNCTION fault_owner_write();`;

export async function installWriteAudit(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(INSTALL);
  } finally {
    await client.end();
  }
}

export interface DeposedWrite {
  app: string;
  task_id: string;
  seq: number;
  type: string;
  data: string;
  owner: string | null;
  epoch: number | null;
  at: string;
}

export interface WriteAudit {
  /** Events written by scheduler processes (application_name `sched-…`). */
  schedulerWrites: number;
  /** Of those, written while the executor's owner was not the writing process. */
  deposedWrites: DeposedWrite[];
  /** Instance ids each process held an executor under. */
  instancesOf: Map<string, Set<string>>;
  /** Who held which epoch when, for failure messages: `<app> <owner> epoch <n> from … to …`. */
  owners: string[];
}

export async function readWriteAudit(client: pg.ClientBase): Promise<WriteAudit> {
  const owners = await client.query<{ app: string; owner: string }>(`SELECT DISTINCT app, owner FROM fault_owner_writes WHERE owner IS NOT NULL`);
  const instancesOf = new Map<string, Set<string>>();
  for (const { app, owner } of owners.rows) instancesOf.set(app, (instancesOf.get(app) ?? new Set()).add(owner));
  const writes = await client.query<DeposedWrite & { app: string }>(
    `SELECT app, task_id, seq, type, data, owner, epoch, at::text FROM fault_event_writes WHERE app LIKE 'sched-%' ORDER BY id`,
  );
  const deposedWrites = writes.rows.filter((w) => w.owner === null || !(instancesOf.get(w.app)?.has(w.owner) ?? false));
  const timeline = await client.query<{ line: string }>(
    `SELECT app || ' ' || coalesce(owner, '-') || ' epoch ' || epoch || ' from ' || min(at)::text || ' to ' || max(at)::text AS line
     FROM fault_owner_writes GROUP BY app, owner, epoch ORDER BY min(at)`,
  );
  return { schedulerWrites: writes.rows.length, deposedWrites, instancesOf, owners: timeline.rows.map((r) => r.line) };
}

/** The process (its application_name) that holds `executor` now, or null. */
export async function ownerApp(client: pg.ClientBase, executor: string): Promise<{ app: string; epoch: number } | null> {
  const { rows } = await client.query<{ app: string; epoch: number }>(
    `SELECT w.app, o.epoch FROM executor_owners o JOIN fault_owner_writes w ON w.owner = o.owner AND w.executor = o.executor
     WHERE o.executor = $1 AND o.owner IS NOT NULL AND o.expires_at > $2 LIMIT 1`,
    [executor, Date.now()],
  );
  return rows[0] ?? null;
}
