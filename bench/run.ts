/**
 * `npm run bench -- <name>`: runs bench/<name>.ts, prints its report, and writes the result
 * (the last output line, one JSON object) to bench/results/<name>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NAMES = ['dispatch', 'throughput', 'events', 'ingest', 'rows', 'arrow-read', 'video', 'ui'];
const name = process.argv[2];
if (!name || !NAMES.includes(name)) {
  console.error(`usage: npm run bench -- <${NAMES.join('|')}>`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { run(): Promise<Record<string, unknown>> };
const result = { bench: name, at: new Date().toISOString(), ...(await mod.run()) };
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
process.exit(0);
