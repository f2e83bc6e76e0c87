/**
 * `npm run bench -- <name>`: runs bench/<name>.ts, prints its report, and writes the result
 * (the last output line, one JSON object) to bench/results/<name>.json. The result records the
 * machine's load average before and after: a figure taken while other work ran is not final.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

const NAMES = ['dispatch', 'throughput', 'throughput-pg', 'events-multi', 'failover', 'events', 'ingest', 'rows', 'arrow-read', 'video', 'ui', 'ray-dispatch', 'ray-burst', 'serve', 'batching', 'sessions', 'overhead', 'fuzz'];
const name = process.argv[2];
if (!name || !NAMES.includes(name)) {
  console.error(`usage: npm run bench -- <${NAMES.join('|')}>`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { run(): Promise<Record<string, unknown>> };
const loadBefore = loadavg();
const measured = await mod.run();
const machine = { cpus: cpus().length, loadavg_1_5_15_before: loadBefore, loadavg_1_5_15_after: loadavg() };
const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`machine: ${machine.cpus} CPUs, load average (1/5/15 min) ${la(loadBefore)} before, ${la(machine.loadavg_1_5_15_after)} after`);
const result = { bench: name, at: new Date().toISOString(), machine, ...measured };
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
process.exit(0);
