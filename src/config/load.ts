/**
 * Loads lakeray.yaml (or the file named by --config / LAKERAY_CONFIG), applies LAKERAY_*
 * environment overrides, validates with the one schema and freezes the result. Relative
 * paths in the config are resolved against the config file's directory (or the cwd).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import type { z } from 'zod';
import { checkCatalog } from '../generation/catalog.ts';
import { WAN22_MODELS_YAML } from '../generation/wan22-example.ts';
import { configSchema, type Config } from './schema.ts';
import { applySeedServerKeys } from './seed-server.ts';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(issues.length ? `${message}\n  - ${issues.join('\n  - ')}` : message);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** The file it came from, or null when only defaults/env were used. */
  path: string | null;
  /** Directory relative paths were resolved against. */
  baseDir: string;
}

export const DEFAULT_CONFIG_FILE = 'lakeray.yaml';

const formatIssues = (error: z.ZodError): string[] =>
  error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);

/**
 * A list of folders in one variable, like PATH: separated by ":" (or ","). A colon that
 * starts "://" belongs to a URI (s3://bucket/raw), not between two roots.
 */
export const splitRoots = (v: string): string[] =>
  v
    .split(/,|:(?!\/\/)/)
    .map((r) => r.trim())
    .filter(Boolean);

/** LAKERAY_* variables that override config fields (documented in docs/configuration.md). */
const ENV_OVERRIDES: Record<string, (raw: Record<string, any>, v: string) => void> = {
  LAKERAY_HOST: (c, v) => ((c.server ??= {}).host = v),
  LAKERAY_PORT: (c, v) => ((c.server ??= {}).port = Number(v)),
  LAKERAY_STATE_DIR: (c, v) => (c.state_dir = v),
  LAKERAY_DB: (c, v) => ((c.store ??= {}).path = v),
  // A database URL picks the PostgreSQL store whatever the file says (one image, many roles).
  LAKERAY_STORE_URL: (c, v) => (c.store = { kind: 'postgres', url: v, ...(c.store?.pool_size !== undefined ? { pool_size: c.store.pool_size } : {}) }),
  LAKERAY_LAKE_ROOT: (c, v) => ((c.lake ??= {}).root = v),
  LAKERAY_PYTHON: (c, v) => ((c.python ??= {}).interpreter = v),
  LAKERAY_LOG_LEVEL: (c, v) => (c.log_level = v),
  LAKERAY_LOG_FORMAT: (c, v) => (c.log_format = v),
  LAKERAY_DATA_ROOTS: (c, v) => (c.data_roots = splitRoots(v)),
  LAKERAY_GPUS: (c, v) => (((c.executors ??= {}).local ??= {}).gpus = /^\d+$/.test(v) ? Number(v) : v.split(',').filter(Boolean)),
  LAKERAY_CPUS: (c, v) => (((c.executors ??= {}).local ??= {}).cpu = Number(v)),
  LAKERAY_EVENTS_URL: (c, v) => (c.events = { ...(c.events?.kind === 'redis' ? c.events : {}), kind: 'redis', url: v }),
  // A Kubernetes pod's name, through the downward API (deploy/base/lakeray-pod.yaml): its `local@<node>`.
  LAKERAY_NODE_NAME: (c, v) => ((c.node ??= {}).name = v),
  // Serving defaults, under seed 003's own names (its `export MAX_BATCH_SIZE=16`) and ours.
  ...servingEnv('MAX_BATCH_SIZE', 'max_batch_size', Number),
  ...servingEnv('BATCH_TIMEOUT_MS', 'batch_timeout_ms', Number),
  ...servingEnv('ENABLE_DYNAMIC_BATCHING', 'enable_dynamic_batching', envBoolean),
  ...servingEnv('LOAD_BALANCE_STRATEGY', 'load_balance_strategy', String),
  ...servingEnv('MAX_QUEUE', 'max_queue', Number),
  ...servingEnv('REQUEST_TIMEOUT_MS', 'request_timeout_ms', Number),
};

/** `NAME` and `LAKERAY_NAME` both set `serving.defaults.<field>` (LAKERAY_NAME wins: it is applied last). */
function servingEnv(name: string, field: string, parse: (v: string) => unknown): Record<string, (raw: Record<string, any>, v: string) => void> {
  const apply = (c: Record<string, any>, v: string) => (((c.serving ??= {}).defaults ??= {})[field] = parse(v));
  return { [name]: apply, [`LAKERAY_${name}`]: apply };
}

/** true/false/1/0/yes/no/on/off; anything else is left as the string so the schema names the field. */
function envBoolean(v: string): unknown {
  const t = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  return v;
}

export function parseConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv = {}): Readonly<Config> {
  const doc: Record<string, any> = raw && typeof raw === 'object' ? structuredClone(raw as Record<string, any>) : {};
  // Seed 004's `server: {host: URL, storage_path}` under Lakeray's keys, before env overrides (which win).
  const seedIssues = applySeedServerKeys(doc, baseDir);
  if (seedIssues.length) throw new ConfigError('Invalid configuration', seedIssues);
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v !== undefined && v !== '') apply(doc, v);
  }
  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) throw new ConfigError('Invalid configuration', formatIssues(parsed.error));
  const c = parsed.data;
  const abs = (p: string) => (isAbsolute(p) || p.includes('://') ? p : resolve(baseDir, p));
  c.state_dir = abs(c.state_dir);
  if (c.store.kind === 'sqlite' && c.store.path) c.store.path = c.store.path === ':memory:' ? c.store.path : abs(c.store.path);
  c.script_roots = c.script_roots.map(abs);
  c.data_roots = c.data_roots.map(abs);
  c.lake.root = abs(c.lake.root);
  if (c.node.shared_dir !== null) c.node.shared_dir = abs(c.node.shared_dir);
  if (c.artifacts.kind === 'local') c.artifacts.root = c.artifacts.root === undefined ? join(c.state_dir, 'artifacts') : abs(c.artifacts.root);
  else c.artifacts.staging_root = c.artifacts.staging_root === undefined ? join(c.state_dir, 'artifacts-staging') : abs(c.artifacts.staging_root);
  const catalogIssues = checkCatalog(c.generation, Object.keys(c.executors));
  if (catalogIssues.length) throw new ConfigError('Invalid configuration', catalogIssues);
  if (c.python.interpreter?.includes('/')) c.python.interpreter = abs(c.python.interpreter);
  for (const p of c.executors.local.pools) if (p.interpreter?.includes('/')) p.interpreter = abs(p.interpreter);
  const names = new Set<string>();
  for (const p of c.executors.local.pools) {
    if (names.has(p.name)) throw new ConfigError('Invalid configuration', [`executors.local.pools: duplicate pool name "${p.name}"`]);
    names.add(p.name);
    if (p.min > p.max) throw new ConfigError('Invalid configuration', [`executors.local.pools.${p.name}: min (${p.min}) > max (${p.max})`]);
  }
  for (const [runtime, pool] of Object.entries(c.executors.local.default_pools)) {
    if (pool !== undefined && !names.has(pool))
      throw new ConfigError('Invalid configuration', [`executors.local.default_pools.${runtime}: no pool named "${pool}"`]);
  }
  return deepFreeze(c);
}

export function loadConfig(path?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LoadedConfig {
  const explicit = path ?? env.LAKERAY_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError(`Config file not found: ${file}`);
    return { config: parseConfig({}, cwd, env), path: null, baseDir: cwd };
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`Cannot parse ${file}: ${(e as Error).message}`);
  }
  const baseDir = dirname(file);
  return { config: parseConfig(raw ?? {}, baseDir, env), path: file, baseDir };
}

/** The YAML `lakeray config --create-default` writes: every default, with comments. */
export function defaultConfigYaml(): string {
  const defaults = configSchema.parse({});
  return `# Lakeray configuration. Every field is optional; these are the defaults.
# Environment overrides: LAKERAY_HOST, LAKERAY_PORT, LAKERAY_STATE_DIR, LAKERAY_DB, LAKERAY_STORE_URL,
# LAKERAY_LAKE_ROOT, LAKERAY_DATA_ROOTS, LAKERAY_PYTHON, LAKERAY_LOG_LEVEL, LAKERAY_LOG_FORMAT,
# LAKERAY_GPUS, LAKERAY_CPUS, LAKERAY_EVENTS_URL, LAKERAY_NODE_NAME; serving defaults: MAX_BATCH_SIZE, BATCH_TIMEOUT_MS,
# ENABLE_DYNAMIC_BATCHING, LOAD_BALANCE_STRATEGY, MAX_QUEUE, REQUEST_TIMEOUT_MS (or with a
# LAKERAY_ prefix). See docs/configuration.md and docs/serving.md.
${stringify(defaults)}
# More video models (docs/video.md): Wan2.2 as Ray jobs on an existing RayCluster (seeds 000/001).
# Add these items under generation.models; they are listed as unavailable until an executor
# of kind ray is configured. Placeholders ({prompt}, {size}, …) become whole argv elements.
${WAN22_MODELS_YAML.trimEnd()
  .split('\n')
  .map((line) => `#   ${line}`)
  .join('\n')}
`;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}
