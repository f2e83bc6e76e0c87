/**
 * The floor's scheduler (bench/lib/events-floor.ts): the same ticker tasks as `events-multi`
 * (bench/scripts/ticker.py, one Python process each, their progress lines encoded by Lakeray's
 * own `lakeray.channel.encode`), read from their pipes, stamped with this process's clock on
 * receipt (`ts`, as Lakeray's writer does) and a per-task `seq`, then stored in PostgreSQL with
 * one INSERT per batch (when a database URL is given) and published with one XADD per batch:
 * Lakeray's event path with nothing but its hops. Like Lakeray's writer (engine/event-writer.ts)
 * a batch is cut only when no write is in flight, so a slow store makes bigger batches, never a
 * queue of them. What it leaves out: fencing, the per-task head lock and gap-free numbering, the
 * tasks-row update, the harness protocol, the platform around it.
 *
 * argv: redis url, postgres url or "-", tasks, rate, seconds, start_at (epoch ms)
 * stdout: {"ready": true, "ids": [...]} once every ticker runs, {"done": {...}} when all ended.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BENCH_SCRIPTS } from './platform.ts';

const [redisUrl, pgUrl, tasksArg, rateArg, secondsArg, startAtArg] = process.argv.slice(2) as [string, string, string, string, string, string];
const TASKS = Number(tasksArg);
const RATE = Number(rateArg);
const SECONDS = Number(secondsArg);
const START_AT = Number(startAtArg);
const FLOOR_STREAM = 'floor:events';

const RUNTIMES = join(import.meta.dirname, '../../runtimes/python');
// The interpreter Lakeray's tasks get by default (src/main.ts defaultPython).
const VENV_PYTHON = join(import.meta.dirname, '../../.venv/bin/python');
const PYTHON = existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3';
// The ticker's ctx: progress as Lakeray's harness encodes it, one os.write per line.
const TICKER = `
import json, os, sys
from lakeray.channel import encode
import ticker
class Ctx:
    def progress(self, fraction, message=None, step=None, total=None):
        os.write(1, encode({"type": "progress", "fraction": min(1.0, max(0.0, float(fraction))), "message": None if message is None else str(message)}))
ticker.run(None, None, json.loads(sys.argv[1]), Ctx())
`;

interface FloorEvent {
  task_id: string;
  seq: number;
  type: 'progress';
  ts: number;
  data: { fraction: number; message: string | null };
}

const redis = new Redis(redisUrl, { protocol: 2 });
const db = pgUrl === '-' ? null : new pg.Client({ connectionString: pgUrl });
if (db) {
  await db.connect();
  await db.query('CREATE TABLE IF NOT EXISTS floor_events (task_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts BIGINT NOT NULL, data JSONB NOT NULL, PRIMARY KEY (task_id, seq))');
}

let buffer: FloorEvent[] = [];
let writing = false;
let flushes = 0;
let stored = 0;
const flushTimes: number[] = [];

async function flush(): Promise<void> {
  if (writing || buffer.length === 0) return;
  writing = true;
  const batch = buffer;
  buffer = [];
  const t0 = performance.now();
  try {
    if (db)
      await db.query({
        name: 'floor_insert',
        text: 'INSERT INTO floor_events (task_id, seq, type, ts, data) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::jsonb[])',
        values: [batch.map((e) => e.task_id), batch.map((e) => e.seq), batch.map((e) => e.type), batch.map((e) => e.ts), batch.map((e) => JSON.stringify(e.data))],
      });
    await redis.xadd(FLOOR_STREAM, 'MAXLEN', '~', '100000', '*', 'e', JSON.stringify(batch));
    flushes++;
    stored += batch.length;
    flushTimes.push(performance.now() - t0);
  } finally {
    writing = false;
    if (buffer.length > 0) setImmediate(() => void flush());
  }
}

const ids = Array.from({ length: TASKS }, (_, i) => `floor${i}`);
const ended = ids.map(
  (id, i) =>
    new Promise<void>((resolve, reject) => {
      const params = { rate: RATE, seconds: SECONDS, start_at_ms: START_AT, phase_ms: (i * (1000 / RATE)) / TASKS };
      const child = spawn(PYTHON, ['-u', '-c', TICKER, JSON.stringify(params)], {
        env: { ...process.env, PYTHONPATH: [RUNTIMES, BENCH_SCRIPTS].join(':') },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let seq = 0;
      createInterface({ input: child.stdout }).on('line', (line) => {
        const e = JSON.parse(line) as { fraction: number; message: string | null };
        buffer.push({ task_id: id, seq: ++seq, type: 'progress', ts: Date.now(), data: { fraction: e.fraction, message: e.message } });
        if (!writing) setImmediate(() => void flush());
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ticker ${id} exited ${code}`))));
    }),
);
process.stdout.write(`${JSON.stringify({ ready: true, ids })}\n`);
await Promise.all(ended);
while (writing || buffer.length > 0) {
  await flush();
  await new Promise((r) => setTimeout(r, 5));
}
flushTimes.sort((a, b) => a - b);
const at = (q: number) => flushTimes[Math.min(flushTimes.length - 1, Math.floor(q * flushTimes.length))] ?? 0;
process.stdout.write(`${JSON.stringify({ done: { flushes, stored, flush_p50_ms: at(0.5), flush_p99_ms: at(0.99) } })}\n`);
redis.disconnect();
await db?.end();
process.exit(0);
