/**
 * The `lakeray` command line: global options, verb registration, and the one place errors
 * become output and exit codes (0 ok · 1 error · 2 usage · 3 watched task cancelled ·
 * 130 interrupted). API errors print as `error CODE: message` on stderr, or as the API's
 * `{"error":{"code","message"}}` document on stderr with --json.
 */
import { Command, CommanderError } from 'commander';
import { registerCancel } from './cancel.ts';
import { registerConfig } from './config.ts';
import { registerDemo } from './demo.ts';
import { type Action, type CliIO, Ctx, DEFAULT_URL, processIO } from './context.ts';
import { CliError, EXIT } from './errors.ts';
import { registerEval } from './eval.ts';
import { registerKeys } from './keys.ts';
import { registerLake } from './lake.ts';
import { registerLogs } from './logs.ts';
import { registerRm } from './rm.ts';
import { registerSubmit } from './submit.ts';
import { registerTasks } from './tasks.ts';
import { registerUp } from './up.ts';
import { registerWatch } from './watch.ts';

const EXIT_HELP = `
Exit codes:
  0    ok (for watch / submit --watch: the task completed)
  1    error, or the watched task failed
  2    usage error
  3    the watched task was cancelled
  130  interrupted with Ctrl-C (a watched task keeps running)`;

function buildProgram(io: CliIO, action: Action): Command {
  const program = new Command('lakeray')
    .description('Lakeray: an async, GPU-aware task platform')
    .option('--url <url>', `server URL (env LAKERAY_URL, default ${DEFAULT_URL})`)
    .option('--json', 'machine-readable output: one JSON document (streams: one JSON line per event)')
    .option('--config <path>', 'config file (default ./lakeray.yaml; env LAKERAY_CONFIG)')
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run with --help for usage)')
    // Before any .command(): subcommands copy these settings when they are created.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  registerUp(program, action);
  registerSubmit(program, action);
  registerTasks(program, action);
  registerWatch(program, action);
  registerLogs(program, action);
  registerCancel(program, action);
  registerRm(program, action);
  registerLake(program, action);
  registerDemo(program, action);
  registerConfig(program, action);
  registerEval(program, action);
  registerKeys(program, action);
  return program;
}

/** Prints an error the way the user asked for (human or JSON) and returns its exit code. */
export function reportError(ctx: Ctx, e: unknown): number {
  const err = toCliError(e);
  if (ctx.json) {
    const body: Record<string, unknown> = { code: err.code, message: err.message };
    if (err.hint) body.hint = err.hint;
    ctx.io.stderr.write(`${JSON.stringify({ error: body })}\n`);
  } else {
    ctx.err(`error ${err.code}: ${err.message}`);
    if (err.hint) ctx.err(`hint: ${err.hint}`);
    if (ctx.io.env.LAKERAY_DEBUG && e instanceof Error && !(e instanceof CliError)) ctx.err(e.stack ?? '');
  }
  return err.exitCode;
}

function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  // Compared by name: importing config/load.ts here would load zod for every verb.
  if (e instanceof Error && e.name === 'ConfigError') return new CliError('CONFIG_INVALID', e.message);
  return new CliError('INTERNAL', e instanceof Error ? e.message : String(e));
}

/** Runs the CLI on user arguments (process.argv.slice(2)) and returns the exit code. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  let code: number = EXIT.OK;
  const action: Action = async (cmd, body) => {
    const ctx = new Ctx(io, cmd.optsWithGlobals());
    try {
      code = await body(ctx);
    } catch (e) {
      code = reportError(ctx, e);
    }
  };
  const program = buildProgram(io, action);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    // Commander already printed its message; only the exit code is left to decide.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    return reportError(new Ctx(io, {}), e);
  }
}
