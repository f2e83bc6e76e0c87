/**
 * `lakeray up`: the whole platform in this process (API, engine, executors) through
 * `startServer` from src/main.ts, imported lazily so other verbs do not load the server.
 * Runs until SIGINT/SIGTERM, then closes gracefully; a second signal while closing exits
 * at once (a stuck shutdown must stay interruptible).
 */
import type { Command } from 'commander';
import type { StartOptions } from '../main.ts';
import type { Action, Ctx } from './context.ts';
import { EXIT } from './errors.ts';
import { number } from './options.ts';

export interface UpOptions {
  port?: number;
  host?: string;
  examples?: boolean;
}

/** startServer's shape as this verb uses it (injectable for tests). */
export type StartServer = (opts: StartOptions) => Promise<{ url: string; close(): Promise<void>; examples?: { ingestion: string | null } }>;

async function loadStartServer(): Promise<StartServer> {
  // Dynamic: the server (fastify, sqlite, executors) loads only for `up`, keeping other verbs fast.
  const { startServer } = await import('../main.ts');
  return startServer;
}

export async function up(ctx: Ctx, o: UpOptions, start?: StartServer, forceExit: (code: number) => void = process.exit): Promise<number> {
  const startServer = start ?? (await loadStartServer());
  const opts: StartOptions = {};
  if (ctx.configPath !== undefined) opts.configPath = ctx.configPath;
  if (o.port !== undefined) opts.port = o.port;
  if (o.host !== undefined) opts.host = o.host;
  if (o.examples) opts.examples = true;
  const server = await startServer(opts);
  if (ctx.json) ctx.printJson({ url: server.url }, true);
  else {
    ctx.out(`Lakeray is running at ${server.url}  (Ctrl-C to stop)`);
    ctx.out(`  Web UI:       ${server.url}/`);
    ctx.out(`  API docs:     ${server.url}/docs`);
    if (server.examples) {
      const { ingestion } = server.examples;
      ctx.out(ingestion ? `  Fashion-MNIST → dataset mnist_clean: task ${ingestion} (lakeray watch ${ingestion})` : '  dataset mnist_clean is in the lake');
      ctx.out('  Train, register and serve the model:  npx lakeray demo mnist');
      ctx.out(`  Drawing page:  ${server.url}/demo/mnist`);
    }
  }

  const signal = await new Promise<string>((resolve) => {
    const once = (name: string) => () => {
      ctx.io.signals.off('SIGINT', onInt);
      ctx.io.signals.off('SIGTERM', onTerm);
      resolve(name);
    };
    const onInt = once('SIGINT');
    const onTerm = once('SIGTERM');
    ctx.io.signals.on('SIGINT', onInt);
    ctx.io.signals.on('SIGTERM', onTerm);
  });
  const hurry = () => {
    ctx.err('forced exit');
    forceExit(EXIT.INTERRUPTED);
  };
  ctx.io.signals.on('SIGINT', hurry);
  ctx.io.signals.on('SIGTERM', hurry);
  try {
    if (!ctx.json) ctx.err(`${signal}: shutting down (press Ctrl-C again to force)`);
    await server.close();
  } finally {
    ctx.io.signals.off('SIGINT', hurry);
    ctx.io.signals.off('SIGTERM', hurry);
  }
  if (!ctx.json) ctx.err('stopped');
  return EXIT.OK;
}

export function registerUp(program: Command, action: Action): void {
  program
    .command('up')
    .description('start the server, scheduler and local executor in this process')
    .option('--port <n>', 'port (default: config server.port, 8000)', number({ int: true, min: 0, max: 65535 }))
    .option('--host <host>', 'interface to bind (default: config server.host, 127.0.0.1)')
    .option('--examples', 'register the bundled examples (mnist, video demo)')
    .action((opts: UpOptions, cmd: Command) => action(cmd, (ctx) => up(ctx, opts)));
}
