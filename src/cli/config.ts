/**
 * `lakeray config --create-default [path] | --show | --validate [path]` over
 * src/config/load.ts (the one schema). Loaded lazily: zod and the schema are only paid for
 * by this verb (and `up`), not by every `lakeray tasks`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Action, Ctx } from './context.ts';
import { CliError, EXIT, UsageError } from './errors.ts';

export interface ConfigOptions {
  createDefault?: string | boolean;
  show?: boolean;
  validate?: string | boolean;
  force?: boolean;
}

const loader = () => import('../config/load.ts');

/** The file a flag names, else --config, else $LAKERAY_CONFIG; undefined means ./lakeray.yaml if present. */
function target(ctx: Ctx, flag: string | boolean | undefined): string | undefined {
  const path = typeof flag === 'string' ? flag : (ctx.configPath ?? ctx.io.env.LAKERAY_CONFIG);
  return path === undefined ? undefined : resolve(ctx.io.cwd, path);
}

async function createDefault(ctx: Ctx, o: ConfigOptions): Promise<number> {
  const { defaultConfigYaml, DEFAULT_CONFIG_FILE } = await loader();
  const file = target(ctx, o.createDefault) ?? resolve(ctx.io.cwd, DEFAULT_CONFIG_FILE);
  mkdirSync(dirname(file), { recursive: true });
  try {
    // 'wx' refuses atomically if the file appeared meanwhile: never clobber a user's config.
    writeFileSync(file, defaultConfigYaml(), { flag: o.force ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new CliError('FILE_EXISTS', `${file} already exists`, EXIT.ERROR, 'pass --force to overwrite it');
    throw e;
  }
  if (ctx.json) ctx.printJson({ path: file, created: true });
  else ctx.out(`wrote ${file}`);
  return EXIT.OK;
}

async function show(ctx: Ctx): Promise<number> {
  const { loadConfig } = await loader();
  const { config, path } = loadConfig(target(ctx, undefined), ctx.io.env, ctx.io.cwd);
  if (ctx.json) {
    ctx.printJson(config);
    return EXIT.OK;
  }
  const { stringify } = await import('yaml');
  ctx.out(`# effective configuration (${path ?? 'defaults: no config file found'}; LAKERAY_* env applied)`);
  ctx.io.stdout.write(stringify(config));
  return EXIT.OK;
}

async function validate(ctx: Ctx, o: ConfigOptions): Promise<number> {
  const { loadConfig, ConfigError } = await loader();
  const file = target(ctx, o.validate);
  try {
    const { path } = loadConfig(file, ctx.io.env, ctx.io.cwd);
    const shown = path ?? `defaults (no lakeray.yaml in ${ctx.io.cwd})`;
    if (ctx.json) ctx.printJson({ ok: true, path });
    else ctx.out(`config OK: ${shown}`);
    return EXIT.OK;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const errors = e.issues.length ? e.issues : [e.message];
    if (ctx.json) ctx.printJson({ ok: false, path: file ?? null, errors });
    else {
      ctx.err(`config invalid: ${file ?? resolve(ctx.io.cwd, 'lakeray.yaml')}`);
      for (const issue of errors) ctx.err(`  - ${issue}`);
    }
    return EXIT.ERROR;
  }
}

export async function configCommand(ctx: Ctx, o: ConfigOptions): Promise<number> {
  const chosen = [o.createDefault !== undefined, o.show === true, o.validate !== undefined].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('choose one of --create-default [path], --show, --validate [path]');
  if (o.createDefault !== undefined) return createDefault(ctx, o);
  if (o.show) return show(ctx);
  return validate(ctx, o);
}

export function registerConfig(program: Command, action: Action): void {
  program
    .command('config')
    .description('create, show or validate lakeray.yaml')
    .option('--create-default [path]', 'write a config with every default (default: ./lakeray.yaml)')
    .option('--force', 'with --create-default: overwrite an existing file')
    .option('--show', 'print the effective config (file + LAKERAY_* env) as YAML, or JSON with --json')
    .option('--validate [path]', 'check a config file; prints each bad field and exits 1')
    .action((opts: ConfigOptions, cmd: Command) => action(cmd, (ctx) => configCommand(ctx, opts)));
}
