/**
 * The API tests' platform: the real Engine over a real SqliteTaskStore (in memory), the real
 * MemoryEventBus and the real LocalExecutor, whose node pool runs the scripts in scripts/
 * (remote.mjs is driven by the test, see remote.ts; hold.mjs keeps its slot until cancelled).
 * The store and bus are seen through probes.ts; the app is buildApp's, as main.ts builds it.
 *
 * Every test gets its own engine, store, bus and app. The executor, whose warm worker takes a
 * second or more to start on a busy machine, is shared by the tests of a file (one per CPU
 * size): an engine stops every task it ran before the next test starts.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { type AppOptions, buildApp } from '../../../src/api/app.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { Engine } from '../../../src/engine/engine.ts';
import type { TaskEvent } from '../../../src/domain/events.ts';
import type { Task } from '../../../src/domain/task.ts';
import type { Caller } from '../../../src/engine/task-service.ts';
import { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { BusProbe, StoreProbe } from './probes.ts';
import { until } from '../../helpers/until.ts';
import { type Remote, RemoteControl } from './remote.ts';

const ROOT = join(import.meta.dirname, '../../..');
export const SCRIPTS = join(import.meta.dirname, 'scripts');
export const CALLER: Caller = { tenant: 'default' };
/** The tenant of occupy()'s task: the default tenant's lists never show it. */
export const HOLDER: Caller = { tenant: 'holder' };

export interface PlatformOptions extends Partial<Omit<AppOptions, 'tasks'>> {
  /** The executor's CPUs (tasks take 1 by default): 1 keeps every task but the first queued. */
  cpu?: number;
}

export interface Platform {
  app: FastifyInstance;
  engine: Engine;
  probe: StoreProbe;
  bus: BusProbe;
  remotes: RemoteControl;
  /** Submit a remote.mjs task (as `caller`) and wait until its script runs. */
  startRemote(extra?: Record<string, unknown>, caller?: Caller): Promise<Remote>;
  /** Submit a remote.mjs task that may stay queued; attach later with remotes.attach(id). */
  submitRemote(extra?: Record<string, unknown>, caller?: Caller): Promise<string>;
  /** Fill the executor with a running task of another tenant: what is submitted next stays queued. */
  occupy(): Promise<string>;
  /** The task's whole event log as the store has it. */
  log(id: string, caller?: Caller): Promise<TaskEvent[]>;
  /** Resolves with the task once `pred` holds for it (polled through the engine). */
  until(id: string, pred: (task: Task) => boolean, what?: string, caller?: Caller): Promise<Task>;
  close(): Promise<void>;
}

const rawConfig = (dir: string, cpu: number) => ({
  state_dir: join(dir, 'state'),
  script_roots: [SCRIPTS],
  data_roots: [join(dir, 'data')],
  // Tests receive webhooks on 127.0.0.1.
  webhooks: { allow_private: true },
  executors: {
    local: {
      cpu,
      gpus: ['0'],
      kill_grace_ms: 1000,
      work_dirs: false,
      // max 2: a warm worker serves one tenant only (warm-pool.ts), and some tests run another tenant's task beside the default's.
      pools: [{ name: 'node', runtime: 'node', min: 1, max: 2, concurrency: 64 }],
      default_pools: { node: 'node' },
    },
  },
});

const executors = new Map<number, LocalExecutor>();
afterAll(async () => {
  for (const ex of executors.values()) await ex.close();
  executors.clear();
});

function executorFor(cpu: number): LocalExecutor {
  let executor = executors.get(cpu);
  if (!executor) {
    const dir = tempDir('lakeray-api-executor-');
    const { executors: config, script_roots, data_roots } = parseConfig(rawConfig(dir, cpu), dir, {});
    executor = new LocalExecutor({
      config: config.local,
      pythonInterpreter: 'python3',
      scriptRoots: [...script_roots],
      dataRoots: [...data_roots],
      runtimesDir: join(ROOT, 'runtimes'),
    });
    executors.set(cpu, executor);
  }
  return executor;
}

export async function setup(opts: PlatformOptions = {}): Promise<Platform> {
  const { cpu = 4, ...appOptions } = opts;
  const dir = tempDir('lakeray-api-');
  const config = parseConfig(rawConfig(dir, cpu), dir, {});
  const probe = new StoreProbe(SqliteTaskStore.open(':memory:'));
  const bus = new BusProbe();
  const executor = executorFor(cpu);
  const engine = new Engine({ config, store: probe.store, bus, executors: new Map([[executor.name, executor]]) });
  const remotes = new RemoteControl(bus);
  await remotes.listen();
  const [app] = await Promise.all([buildApp({ tasks: engine, version: '9.9.9-test', ...appOptions }), engine.start()]);

  const submitRemote = async (extra: Record<string, unknown> = {}, caller = CALLER): Promise<string> => {
    const [r] = await engine.submit(caller, [{ script: 'remote.mjs', ...extra, params: { control: remotes.port } }]);
    return (r as { task: { id: string } }).task.id;
  };
  const taskUntil = (id: string, pred: (task: Task) => boolean, what = 'a task state', caller = CALLER): Promise<Task> =>
    until(`${what} of ${id}`, async () => ((t) => (pred(t) ? t : null))(await engine.get(caller, id)), 20_000, 10);
  const occupy = async (): Promise<string> => {
    const [r] = await engine.submit(HOLDER, [{ script: 'hold.mjs', resources: { cpu } }]);
    const id = (r as { task: Task }).task.id;
    await taskUntil(id, (t) => t.status === 'running', 'the holder running', HOLDER);
    return id;
  };
  const log = async (id: string, caller = CALLER): Promise<TaskEvent[]> => {
    const all: TaskEvent[] = [];
    for (let page = await engine.events(caller, id, 0, 1000); page.length > 0; page = await engine.events(caller, id, all.at(-1)?.seq ?? 0, 1000)) all.push(...page);
    return all;
  };
  let closed: Promise<void> | null = null;
  return {
    app,
    engine,
    probe,
    bus,
    remotes,
    submitRemote,
    occupy,
    log,
    until: taskUntil,
    startRemote: async (extra, caller) => remotes.attach(await submitRemote(extra, caller)),
    close: () =>
      (closed ??= (async () => {
        probe.networked = false;
        for (const k of Object.keys(probe.before)) delete probe.before[k as keyof typeof probe.before];
        for (const k of Object.keys(probe.after)) delete probe.after[k as keyof typeof probe.after];
        await app.close();
        await engine.stop();
        await remotes.close();
        await bus.close();
        await probe.store.close().catch(() => {}); // a test may have closed it already
      })()),
  };
}
