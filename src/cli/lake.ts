/**
 * `lakeray datasets ls|show|rows|rm` and `lakeray models ls|show|rm`: the lake from the
 * terminal. Tables for people, the API's JSON with --json.
 */
import type { Command } from 'commander';
import type { LakeKind, LakeTableJson } from './client.ts';
import type { Action, Ctx } from './context.ts';
import { EXIT } from './errors.ts';
import { formatAge, formatBytes, formatTable, toMs } from './format.ts';
import { number } from './options.ts';

async function list(ctx: Ctx, kind: LakeKind): Promise<number> {
  const tables = await ctx.client.lakeList(kind);
  if (ctx.json) {
    ctx.printJson(tables);
    return EXIT.OK;
  }
  if (!tables.length) {
    ctx.out(`no ${kind}`);
    return EXIT.OK;
  }
  const now = Date.now();
  ctx.out(
    formatTable(
      [{ header: 'NAME', maxWidth: 40 }, { header: 'ROWS', align: 'right' }, { header: 'SIZE', align: 'right' }, { header: 'VERSION', align: 'right' }, { header: 'UPDATED' }, { header: 'SCHEMA', maxWidth: 70 }],
      tables.map((t) => [
        t.id,
        String(t.num_rows),
        formatBytes(t.size_bytes),
        String(t.version),
        age(t.updated_at, now),
        Object.entries(t.schema)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', '),
      ]),
    ),
  );
  return EXIT.OK;
}

const age = (t: LakeTableJson['updated_at'], now: number): string => {
  const ms = toMs(t);
  return ms === null ? '-' : `${formatAge(now - ms)} ago`;
};

async function show(ctx: Ctx, kind: LakeKind, name: string): Promise<number> {
  const t = await ctx.client.lakeGet(kind, name);
  if (ctx.json) {
    ctx.printJson(t);
    return EXIT.OK;
  }
  const now = Date.now();
  ctx.out(`${kind === 'datasets' ? 'Dataset' : 'Model'} ${t.id}`);
  ctx.out(`  path      ${t.path}`);
  ctx.out(`  rows      ${t.num_rows}`);
  ctx.out(`  size      ${formatBytes(t.size_bytes)}`);
  ctx.out(`  version   ${t.version}${Object.keys(t.tags).length ? `  tags: ${Object.entries(t.tags).map(([k, v]) => `${k}→${v}`).join(', ')}` : ''}`);
  ctx.out(`  updated   ${age(t.updated_at, now)}`);
  ctx.out('  schema');
  for (const [col, type] of Object.entries(t.schema)) ctx.out(`    ${col}: ${type}`);
  if (t.files?.length) {
    ctx.out('  files');
    for (const f of t.files) ctx.out(`    ${f.file}  ${formatBytes(f.size)}${f.content_type ? `  ${f.content_type}` : ''}`);
  }
  if (t.metrics && Object.keys(t.metrics).length) ctx.out(`  metrics   ${JSON.stringify(t.metrics)}`);
  if (t.params && Object.keys(t.params).length) ctx.out(`  params    ${JSON.stringify(t.params)}`);
  const last = t.lineage?.[0];
  if (last) {
    const inputs = last.inputs.map((i) => `${i.name}@v${i.version}`).join(', ') || 'none';
    ctx.out(`  lineage   v${last.version} by task ${last.task_id} (${last.script}) from ${inputs}`);
  }
  return EXIT.OK;
}

interface RowsOptions {
  offset?: number;
  limit?: number;
  columns?: string;
  filter?: string;
  version?: string;
}

const cellText = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && '$summary' in (v as object)) {
    const s = v as { $summary: string; length?: number; bytes?: number; min?: number; max?: number };
    if (s.bytes !== undefined) return `<${s.$summary}, ${formatBytes(s.bytes)}>`;
    if (s.min !== undefined) return `<${s.$summary} ${s.min}…${s.max}>`;
    return `<${s.$summary}>`;
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
};

async function rows(ctx: Ctx, kind: LakeKind, name: string, o: RowsOptions): Promise<number> {
  const page = await ctx.client.lakeRows(kind, name, { offset: o.offset, limit: o.limit ?? 20, columns: o.columns, filter: o.filter, version: o.version });
  if (ctx.json) {
    ctx.printJson(page);
    return EXIT.OK;
  }
  const cols = page.columns.map((c) => c.name);
  ctx.out(formatTable(cols.map((c) => ({ header: c.toUpperCase(), maxWidth: 48 })), page.rows.map((r) => cols.map((c) => cellText(r[c])))));
  const end = page.offset + page.rows.length;
  ctx.out(`rows ${page.rows.length ? page.offset + 1 : 0}–${end} of ${page.total} (version ${page.version})`);
  return EXIT.OK;
}

async function remove(ctx: Ctx, kind: LakeKind, name: string): Promise<number> {
  await ctx.client.lakeDelete(kind, name);
  if (ctx.json) ctx.printJson({ id: name, kind, deleted: true });
  else ctx.out(`deleted ${kind === 'datasets' ? 'dataset' : 'model'} ${name}`);
  return EXIT.OK;
}

function registerKind(program: Command, action: Action, kind: LakeKind): void {
  const what = kind === 'datasets' ? 'dataset' : 'model';
  const cmd = program.command(kind).description(`${kind} of the lake`);
  cmd
    .command('ls')
    .description(`list ${kind}`)
    .action((_o: unknown, c: Command) => action(c, (ctx) => list(ctx, kind)));
  cmd
    .command('show')
    .description(`schema, size, versions${kind === 'models' ? ', files, metrics' : ''} and lineage of a ${what}`)
    .argument('<name>')
    .action((name: string, _o: unknown, c: Command) => action(c, (ctx) => show(ctx, kind, name)));
  if (kind === 'datasets')
    cmd
      .command('rows')
      .description('print a page of rows (vectors and binaries summarized)')
      .argument('<name>')
      .option('--offset <n>', 'first row', number({ int: true, min: 0 }))
      .option('--limit <n>', 'rows (default 20)', number({ int: true, min: 1 }))
      .option('--columns <list>', 'comma-separated columns')
      .option('--filter <sql>', "SQL filter, e.g. \"label = 3 AND split = 'test'\"")
      .option('--version <v>', 'a version number or tag')
      .action((name: string, o: RowsOptions, c: Command) => action(c, (ctx) => rows(ctx, kind, name, o)));
  cmd
    .command('rm')
    .description(`delete a ${what} and all its versions`)
    .argument('<name>')
    .action((name: string, _o: unknown, c: Command) => action(c, (ctx) => remove(ctx, kind, name)));
}

export function registerLake(program: Command, action: Action): void {
  registerKind(program, action, 'datasets');
  registerKind(program, action, 'models');
}
