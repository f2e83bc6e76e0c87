/**
 * `lakeray up`: the whole platform in this process (API, engine, executors) through
 * `startServer` from src/main.ts, imported lazily so other verbs do not load the server.
 * Runs until SIGINT/SIGTERM, then closes gracefully; a second signal while closing exits
 * at once (a stuck shutdown must stay interruptible).
 */
import { Option, type Command } from 'commander';
import type { ExampleIngestion, IngestionOutcome } from '../examples.ts';
import type { LogFormat, Role, StartOptions } from '../main.ts';
import type { Action, Ctx } from './context.ts';
import { EXIT } from './errors.ts';
import { number } from './options.ts';

export interface UpOptions {
  port?: number;
  host?: string;
  examples?: boolean;
  logFormat?: LogFormat;
  role?: Role;
}

/** startServer's shape as this verb uses it (injectable for tests). */
export type StartServer = (opts: StartOptions) => Promise<{ url: string; close(): Promise<void>; examples?: { ingestion: ExampleIngestion } }>;

/** The banner's line for how the start-up ingestion ended: one line, with the fix when it failed. */
export function ingestionLine(o: IngestionOutcome, dataset = 'mnist_clean'): string {
  if (o.state === 'present') return `  ✓ dataset ${dataset} is in the lake`;
  if (o.state === 'ingested') {
    const rows = o.rows === null ? '' : `${o.rows.toLocaleString('en-US')} rows `;
    const took = o.seconds === null ? '' : ` in ${o.seconds.toFixed(1)} s`;
    return `  ✓ dataset ${dataset}: ${rows}ingested${took} (task ${o.task})`;
  }
  // INPUT_NOT_FOUND says where it looked and the command that fixes it; anything else points at the logs.
  const more = o.code === 'INPUT_NOT_FOUND' || o.task === null ? '' : ` (${o.code}; see: lakeray logs ${o.task})`;
  return `  ✗ dataset ${dataset} was not ingested: ${o.message}${more}`;
}

async function loadStartServer(): Promise<StartServer> {
  // Dynamic: the server (fastify, sqlite, executors) loads only for `up`, keeping other verbs fast.
  const { startServer } = await import('../main.ts');
  return startServer;
}

function report(ctx: Ctx, outcome: IngestionOutcome): void {
  if (ctx.json) ctx.printJson({ examples: { dataset: 'mnist_clean', ...outcome } }, true);
  else if (outcome.state === 'failed') ctx.err(ingestionLine(outcome));
  else ctx.out(ingestionLine(outcome));
}

export async function up(ctx: Ctx, o: UpOptions, start?: StartServer, forceExit: (code: number) => void = process.exit): Promise<number> {
  const startServer = start ?? (await loadStartServer());
  const opts: StartOptions = {};
  if (ctx.configPath !== undefined) opts.configPath = ctx.configPath;
  if (o.port !== undefined) opts.port = o.port;
  if (o.host !== undefined) opts.host = o.host;
  if (o.examples) opts.examples = true;
  if (o.logFormat !== undefined) opts.logFormat = o.logFormat;
  if (o.role !== undefined) opts.role = o.role;
  const server = await startServer(opts);
  const ingestion = server.examples?.ingestion;
  if (ctx.json) ctx.printJson({ url: server.url }, true);
  else {
    ctx.out(`Lakeray is running at ${server.url}  (Ctrl-C to stop)`);
    ctx.out(`  Web UI:       ${server.url}/`);
    ctx.out(`  API docs:     ${server.url}/docs`);
    if (ingestion) {
      if (ingestion.task) ctx.out(`  Fashion-MNIST → dataset mnist_clean: ingesting (task ${ingestion.task}; lakeray watch ${ingestion.task})`);
      else report(ctx, await ingestion.outcome); // nothing to wait for: there already, or not submitted
      ctx.out('  Train, register and serve the model:  npx lakeray demo mnist');
      ctx.out(`  Drawing page:  ${server.url}/demo/mnist`);
    }
  }
  let stopping = false;
  // The ingestion's real outcome, when it comes: a failure is never silent.
  if (ingestion && (ingestion.task || ctx.json)) {
    void ingestion.outcome.then((outcome) => {
      if (!stopping) report(ctx, outcome);
    });
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
  stopping = true;
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
    .addOption(
      new Option('--role <role>', 'all: API and scheduler in one process; api: HTTP only, owns no executor; scheduler: owns executors and dispatches, its HTTP serves probes, /metrics and the callbacks of its tasks only (docs/architecture.md)')
        .choices(['all', 'api', 'scheduler'])
        .default('all'),
    )
    .addOption(
      new Option('--log-format <format>', 'server log lines: pretty (for people), json, or auto: pretty on a terminal, else JSON (default: config log_format, LAKERAY_LOG_FORMAT)').choices(['auto', 'pretty', 'json']),
    )
    .action((opts: UpOptions, cmd: Command) => action(cmd, (ctx) => up(ctx, opts)));
}
