/**
 * Executors by kind: config `executors.<name>` → an Executor. `local` is the local executor;
 * every other name is built by the factory of its `kind` (config/schema.ts,
 * namedExecutorSchema). A new kind is a schema in the union and a factory here.
 */
import type { ExecutorsConfig, NamedExecutorConfig } from '../config/schema.ts';
import { namedExecutors } from '../config/schema.ts';
import { ConfigError } from '../config/load.ts';
import type { Executor } from './executor.ts';
import { LocalExecutor, type LocalExecutorOptions } from './local/local-executor.ts';
import { createRayExecutor } from './ray/factory.ts';
import type { TaskReportAccess } from './task-reports.ts';

/** What every executor may need from the server, besides its own config. */
export interface ExecutorContext {
  /** The local executor's options but its config and name. */
  local: Omit<LocalExecutorOptions, 'config' | 'name'>;
  /** The platform's URL as tasks reach it (known once the server listens). */
  apiUrl: () => string | undefined;
  logger?: LocalExecutorOptions['logger'];
  /** How tasks on other machines report back (the reports hub, the server's URL, task tokens). */
  reports: TaskReportAccess;
  /** The token a Ray actors-mode executor's driver polls with (TaskTokens.mintExecutor). */
  executorToken?: (name: string) => string;
  /**
   * The local executor's name: `local`, or `local@<node>` on a scheduler sharing its store
   * with other nodes (engine/node-queues.ts). Default `local`.
   */
  localName?: string;
}

type Factory<C> = (name: string, config: C, ctx: ExecutorContext) => Executor;
type Factories = { [K in NamedExecutorConfig['kind']]?: Factory<Extract<NamedExecutorConfig, { kind: K }>> };

/** The factory of each kind of named executor that this build has. */
export const EXECUTOR_FACTORIES: Factories = {
  ray: (name, config, ctx) =>
    createRayExecutor(name, config, {
      scriptRoots: ctx.local.scriptRoots,
      dataRoots: ctx.local.dataRoots,
      runtimesDir: ctx.local.runtimesDir,
      apiUrl: config.api_url ?? ctx.apiUrl,
      reports: ctx.reports,
      ...(ctx.logger ? { logger: ctx.logger } : {}),
      ...(ctx.local.maxLogLineBytes !== undefined ? { maxLogLineBytes: ctx.local.maxLogLineBytes } : {}),
      ...(ctx.executorToken ? { executorToken: ctx.executorToken } : {}),
    }),
};

/** The configured executors, the local one first (a task that names none goes to `local`), and their pool names. */
export function buildExecutors(config: ExecutorsConfig, ctx: ExecutorContext, factories: Factories = EXECUTOR_FACTORIES): { executors: Map<string, Executor>; pools: Map<string, Set<string>> } {
  const local = new LocalExecutor({ ...ctx.local, name: ctx.localName ?? 'local', config: config.local });
  const executors = new Map<string, Executor>([[local.name, local]]);
  const pools = new Map([[local.name, new Set(config.local.pools.map((p) => p.name))]]);
  for (const [name, entry] of namedExecutors(config)) {
    const factory = factories[entry.kind] as Factory<NamedExecutorConfig> | undefined;
    if (factory === undefined) throw new ConfigError('Invalid configuration', [`executors.${name}.kind: executors of kind "${entry.kind}" are not available in this build`]);
    executors.set(name, factory(name, entry, ctx));
    pools.set(name, new Set(entry.pools.map((p) => p.name)));
  }
  return { executors, pools };
}
