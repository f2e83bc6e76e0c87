/**
 * `lakeray keys create|ls|revoke`: the operator's API key management (docs/cli.md "keys").
 * It opens the configured store itself (lakeray.yaml, --config, LAKERAY_*), not the API: it is
 * how the first key comes to exist. Works while the server runs. The secret of a new key is
 * printed once and never again; `ls` shows ids, never secrets.
 */
import type { Command } from 'commander';
import type { Action, Ctx } from './context.ts';
import { CliError, EXIT, UsageError } from './errors.ts';
import { formatTable } from './format.ts';

/** What the CLI's own actions are audited as: the operator, with no key. */
const OPERATOR = { tenant: 'default', role: 'admin', key_id: null } as const;

export interface CreateOptions {
  tenant: string;
  role: string;
  expires?: string;
  name?: string;
}

async function withStores<T>(ctx: Ctx, work: (stores: Awaited<ReturnType<typeof import('../auth/key-admin-store.ts').openKeyStores>>) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../config/load.ts');
  const { openKeyStores } = await import('../auth/key-admin-store.ts');
  const { config } = loadConfig(ctx.configPath ?? ctx.io.env.LAKERAY_CONFIG, ctx.io.env, ctx.io.cwd);
  const stores = await openKeyStores(config.store, config.state_dir);
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** A LakerayError of bad input (role, tenant, expiry) is the user's to fix: a usage error. */
const asUsage = (e: unknown): never => {
  if (e instanceof Error && e.name === 'LakerayError') throw new UsageError(e.message);
  throw e;
};

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

async function create(ctx: Ctx, o: CreateOptions): Promise<number> {
  const { isRole } = await import('../domain/roles.ts');
  if (!isRole(o.role)) throw new UsageError(`--role must be admin, member or viewer (got "${o.role}")`);
  const { createApiKey, parseExpiry } = await import('../auth/keys.ts');
  const role = o.role;
  const made = await withStores(ctx, async (stores) => {
    const expiresAt = o.expires === undefined ? null : parseExpiry(o.expires);
    return createApiKey(stores, OPERATOR, { tenant: o.tenant, role, expiresAt, name: o.name ?? null });
  }).catch(asUsage);
  if (ctx.json) ctx.printJson({ ...made.key, secret: made.bearer });
  else {
    ctx.out(made.bearer);
    ctx.err(`key ${made.key.id}: tenant ${made.key.tenant}, role ${made.key.role}, expires ${iso(made.key.expires_at)}. The key above is shown once: keep it now (clients send Authorization: Bearer <key>; the CLI reads LAKERAY_API_KEY).`);
  }
  return EXIT.OK;
}

async function list(ctx: Ctx, o: { tenant?: string }): Promise<number> {
  const { keyView } = await import('../auth/keys.ts');
  const keys = (await withStores(ctx, (stores) => stores.keys.listKeys(o.tenant))).map(keyView);
  if (ctx.json) {
    ctx.printJson(keys);
    return EXIT.OK;
  }
  const now = Date.now();
  const state = (k: (typeof keys)[number]): string => (k.revoked_at !== null ? 'revoked' : k.expires_at !== null && k.expires_at <= now ? 'expired' : 'active');
  const rows = keys.map((k) => [k.id, k.tenant, k.role, state(k), iso(k.created_at), iso(k.expires_at), iso(k.last_used_at), k.name ?? '']);
  ctx.out(formatTable([{ header: 'ID' }, { header: 'TENANT' }, { header: 'ROLE' }, { header: 'STATE' }, { header: 'CREATED' }, { header: 'EXPIRES' }, { header: 'LAST USED' }, { header: 'NAME', maxWidth: 30 }], rows));
  return EXIT.OK;
}

async function revoke(ctx: Ctx, id: string): Promise<number> {
  const { isKeyId } = await import('../auth/api-key.ts');
  if (!isKeyId(id)) throw new UsageError(`"${id}" is not a key id (k followed by 16 hex digits; see lakeray keys ls)`);
  const { revokeApiKey } = await import('../auth/keys.ts');
  const done = await withStores(ctx, (stores) => revokeApiKey(stores, OPERATOR, id));
  if (!done) throw new CliError('KEY_NOT_FOUND', `no live API key ${id}`, EXIT.ERROR, 'lakeray keys ls lists the keys and their state');
  if (ctx.json) ctx.printJson({ id, revoked: true });
  else ctx.out(`revoked ${id}`);
  return EXIT.OK;
}

export function registerKeys(program: Command, action: Action): void {
  const keys = program.command('keys').description('API keys: create (shown once), list, revoke; opens the configured store directly');
  keys
    .command('create')
    .description('make an API key and print it once')
    .requiredOption('--tenant <tenant>', 'the tenant the key acts for')
    .requiredOption('--role <role>', 'admin | member | viewer')
    .option('--expires <when>', 'a duration from now (30d, 12h, 90m, 2w) or an ISO date; default: never')
    .option('--name <label>', 'a label for people')
    .action((opts: CreateOptions, cmd: Command) => action(cmd, (ctx) => create(ctx, opts)));
  keys
    .command('ls')
    .description('list keys (ids, tenants, roles, state; never secrets)')
    .option('--tenant <tenant>', 'only this tenant')
    .action((opts: { tenant?: string }, cmd: Command) => action(cmd, (ctx) => list(ctx, opts)));
  keys
    .command('revoke <id>')
    .description('revoke a key: refused from the next request on')
    .action((id: string, _opts: unknown, cmd: Command) => action(cmd, (ctx) => revoke(ctx, id)));
}
