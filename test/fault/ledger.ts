/**
 * What the kill -9 tests check after the run, from three sides: the server's database (every
 * task terminal, one `completed` state event and one stored result per task), the scripts'
 * ledger (scripts/ledger.py and ledger.js write `<task id> <attempt> run|ret` to a file of the
 * task's own: no attempt of a task ran twice, the attempt that succeeded is one that returned),
 * and Ray's job list (one job per task attempt).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface TaskRow {
  id: string;
  status: string;
  attempt: number;
  executor: string;
}

export interface DbView {
  tasks: TaskRow[];
  /** tasks with more than one `completed` state event */
  succeededTwice: string[];
  /** result events per task */
  results: Map<string, number>;
  /** `pending` state events with reason lease_lost (an attempt the crash took) */
  leaseLost: number;
  /** why attempts were retried: `<reason>/<error code>: <count>` over the re-queueing state events */
  retries: Record<string, number>;
}

export function readDb(stateDir: string): DbView {
  const db = new Database(join(stateDir, 'lakeray.db'), { readonly: true });
  try {
    const tasks = db.prepare('SELECT id, status, attempt, executor FROM tasks').all() as TaskRow[];
    const succeededTwice = (
      db
        .prepare(`SELECT task_id FROM events WHERE type = 'state' AND json_extract(data, '$.status') = 'completed' GROUP BY task_id HAVING COUNT(*) > 1`)
        .all() as { task_id: string }[]
    ).map((r) => r.task_id);
    const results = new Map(
      (db.prepare(`SELECT task_id, COUNT(*) AS n FROM events WHERE type = 'result' GROUP BY task_id`).all() as { task_id: string; n: number }[]).map((r) => [r.task_id, r.n]),
    );
    const { n } = db.prepare(`SELECT COUNT(*) AS n FROM events WHERE type = 'state' AND json_extract(data, '$.reason') = 'lease_lost'`).get() as { n: number };
    const retried = db
      .prepare(
        `SELECT json_extract(data, '$.reason') || '/' || json_extract(data, '$.error.code') AS why, COUNT(*) AS n FROM events
         WHERE type = 'state' AND json_extract(data, '$.status') = 'pending' AND json_extract(data, '$.error') IS NOT NULL GROUP BY why`,
      )
      .all() as { why: string; n: number }[];
    return { tasks, succeededTwice, results, leaseLost: n, retries: Object.fromEntries(retried.map((r) => [r.why, r.n])) };
  } finally {
    db.close();
  }
}

/** Per task: per attempt, how often run() was entered and how often it returned. */
export type Ledger = Map<string, Map<number, { run: number; ret: number }>>;

export function readLedger(dir: string): Ledger {
  const ledger: Ledger = new Map();
  for (const file of readdirSync(dir)) {
    const attempts = new Map<number, { run: number; ret: number }>();
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      const [id, attempt, what] = line.split(' ');
      if (id !== file || (what !== 'run' && what !== 'ret')) throw new Error(`ledger ${file}: unexpected line "${line}"`);
      const a = attempts.get(Number(attempt)) ?? { run: 0, ret: 0 };
      a[what]++;
      attempts.set(Number(attempt), a);
    }
    ledger.set(file, attempts);
  }
  return ledger;
}

/** Task ids whose script is inside run() now (an attempt entered and not returned), per the ledger. */
export function runningNow(dir: string, ids: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const [id, attempts] of readLedger(dir)) {
    if (!ids.has(id)) continue;
    if ([...attempts.values()].some((a) => a.run > a.ret)) out.push(id);
  }
  return out;
}

export interface LedgerFindings {
  /** `<task> attempt <n> ran k times`: an attempt whose run() was entered more than once */
  attemptRanTwice: string[];
  /** succeeded tasks whose succeeding attempt has no returned run() in the ledger */
  succeededWithoutRun: string[];
  /** tasks whose run() returned in more than one attempt (an earlier attempt's outcome was lost to a crash) */
  returnedInSeveralAttempts: string[];
}

export function checkLedger(ledger: Ledger, tasks: readonly TaskRow[]): LedgerFindings {
  const f: LedgerFindings = { attemptRanTwice: [], succeededWithoutRun: [], returnedInSeveralAttempts: [] };
  for (const t of tasks) {
    const attempts = ledger.get(t.id) ?? new Map();
    for (const [n, a] of attempts) if (a.run > 1) f.attemptRanTwice.push(`${t.id} attempt ${n} ran ${a.run} times`);
    if (t.status === 'completed' && (attempts.get(t.attempt)?.ret ?? 0) !== 1) f.succeededWithoutRun.push(`${t.id} attempt ${t.attempt}`);
    if ([...attempts.values()].filter((a) => a.ret > 0).length > 1) f.returnedInSeveralAttempts.push(t.id);
  }
  return f;
}
