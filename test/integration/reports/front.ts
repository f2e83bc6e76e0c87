/**
 * A Lakeray platform whose HTTP front (Fastify app + reports hub) can be restarted on the same
 * port while the engine, its SQLite store and its local executor keep running — what a task on
 * another machine sees of a server restart: connections refused, then 503 until the executor
 * re-opened the task's channel, and a hub that remembers no seq of before.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/api/app.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { LocalArtifactStore } from '../../../src/artifacts/local/local-artifact-store.ts';
import { RemoteReports } from '../../../src/engine/remote-reports.ts';
import { RemoteUploads } from '../../../src/engine/remote-uploads.ts';
import { TaskTokens } from '../../../src/engine/task-tokens.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { freePort, tempDir } from '../../helpers/server-process.ts';
import { SCRIPTS } from './server.ts';

export const ROOT = join(import.meta.dirname, '../../..');

export interface Platform {
  engine: Engine;
  store: SqliteTaskStore;
  tokens: TaskTokens;
  url: string;
  /** The running front's hub. */
  reports: RemoteReports;
  app: FastifyInstance;
  startFront(): Promise<void>;
  stopFront(): Promise<void>;
  close(): Promise<void>;
}

export async function platform(): Promise<Platform> {
  const dir = tempDir();
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [SCRIPTS],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu: 4, gpus: 0, kill_grace_ms: 1000, pools: [] } },
    },
    dir,
    {},
  );
  const store = SqliteTaskStore.open(join(dir, 'lakeray.db'));
  const local = new LocalExecutor({
    config: config.executors.local,
    pythonInterpreter: 'python3',
    scriptRoots: [...config.script_roots],
    dataRoots: [...config.data_roots],
    runtimesDir: join(ROOT, 'runtimes'),
  });
  const artifacts = await new LocalArtifactStore(join(dir, 'artifacts')).init();
  const engine = new Engine({ config, store, bus: new MemoryEventBus(), executors: new Map([[local.name, local]]), artifacts });
  await engine.start();
  const tokens = TaskTokens.fromStateDir(join(dir, 'state'));
  const port = await freePort();
  const p: Platform = {
    engine,
    store,
    tokens,
    url: `http://127.0.0.1:${port}`,
    reports: null as unknown as RemoteReports,
    app: null as unknown as FastifyInstance,
    async startFront() {
      p.reports = new RemoteReports({ tokens, task: (id) => store.get(id), stored: () => engine.eventsStored() });
      p.app = await buildApp({ tasks: engine, reports: p.reports, uploads: new RemoteUploads(p.reports, artifacts), artifacts: engine.artifacts });
      await p.app.listen({ host: '127.0.0.1', port });
    },
    async stopFront() {
      await p.app.close();
    },
    async close() {
      await p.app.close();
      await engine.stop();
      await local.close();
      await store.close();
    },
  };
  await p.startFront();
  return p;
}
