/**
 * `lakeray eval serve <deployment>`: simulated users and an optional batch-settings sweep
 * against a deployment (docs/eval.md), written as a report folder
 * `<out>/eval_results/<id>/` (summary.json, charts, README.md). `<out>` defaults to the
 * configured state_dir, which is where a local server serves reports from
 * (GET /api/v1/eval/reports), in the folder of the tenant of the key the CLI uses (the server
 * names it; tenantReportsDir), so the report is listed to that tenant only. Ctrl-C stops the
 * load, restores the settings and still writes what was measured (exit 130).
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type Action, type Ctx, interruptible } from './context.ts';
import { CliError, EXIT } from './errors.ts';
import { number, parseDurationS } from './options.ts';
import { renderBar } from './progress-bar.ts';

export interface EvalServeOptions {
  users: number;
  duration: number;
  mode: 'request' | 'session';
  batchTest?: boolean;
  batchOnly?: boolean;
  batchSizes?: number[];
  batchTimeouts?: number[];
  phaseDuration: number;
  out?: string;
}

const list = (raw: string): number[] =>
  raw.split(',').map((v) => number({ min: 0 })(v.trim()));

async function outDir(ctx: Ctx, out: string | undefined): Promise<string> {
  if (out !== undefined) return join(resolve(ctx.io.cwd, out), 'eval_results');
  const { loadConfig } = await import('../config/load.ts');
  const path = ctx.configPath ?? ctx.io.env.LAKERAY_CONFIG;
  const { config } = loadConfig(path === undefined ? undefined : resolve(ctx.io.cwd, path), ctx.io.env, ctx.io.cwd);
  const { tenantReportsDir } = await import('../serving/eval/reports-dir.ts');
  return tenantReportsDir(join(config.state_dir, 'eval_results'), await ctx.client.evalReportsTenant());
}

async function serve(ctx: Ctx, deployment: string, o: EvalServeOptions): Promise<number> {
  const { evaluate, DEFAULT_GRID, planPhases } = await import('../serving/eval/evaluate.ts');
  const { writeReport } = await import('../serving/eval/report.ts');
  const { EvalApiError } = await import('../serving/eval/deployment-api.ts');
  const grid =
    o.batchTest || o.batchOnly
      ? { max_batch_sizes: o.batchSizes ?? DEFAULT_GRID.max_batch_sizes, batch_timeouts_ms: o.batchTimeouts ?? DEFAULT_GRID.batch_timeouts_ms }
      : null;
  const durationS = o.batchOnly ? 0 : o.duration;
  const plan = planPhases({ durationS, grid, phaseDurationS: o.phaseDuration });
  const totalS = plan.reduce((s, p) => s + p.durationS, 0);
  const resultsDir = await outDir(ctx, o.out);

  const interrupt = interruptible(ctx.io.signals);
  const started = Date.now();
  let doneS = 0;
  let phase = { name: '', durationS: 0, start: started };
  let requests = 0;
  let errors = 0;
  const draw = () => {
    if (ctx.json || !ctx.isTTY) return;
    const elapsedS = doneS + Math.min(phase.durationS, (Date.now() - phase.start) / 1000);
    const fraction = totalS > 0 ? elapsedS / totalS : 0;
    const message = `${phase.name} · ${requests} requests · ${errors} errors`;
    ctx.io.stdout.write(`\r${renderBar({ fraction, elapsedMs: Date.now() - started, etaS: Math.max(0, totalS - elapsedS), message, width: ctx.columns })}\x1b[K`);
  };
  const ticker = setInterval(draw, 250);
  const headers: Record<string, string> = {};
  if (ctx.io.env.LAKERAY_API_KEY) headers.authorization = `Bearer ${ctx.io.env.LAKERAY_API_KEY}`;
  let summary;
  try {
    summary = await evaluate({
      target: { baseUrl: ctx.url, deployment, headers },
      mode: o.mode,
      users: o.users,
      durationS,
      grid,
      phaseDurationS: o.phaseDuration,
      signal: interrupt.signal,
      onPhase: (p) => {
        if (phase.name) doneS += phase.durationS;
        phase = { name: `${p.index + 1}/${p.total} ${p.name}`, durationS: p.durationS, start: Date.now() };
        if (!ctx.json && !ctx.isTTY) ctx.err(`phase ${phase.name} (${p.durationS} s)`);
      },
      onRecord: (r) => {
        requests += 1;
        if (r.error !== null) errors += 1;
      },
    });
  } catch (e) {
    if (e instanceof EvalApiError) throw new CliError(e.code, e.message);
    throw e;
  } finally {
    clearInterval(ticker);
    interrupt.release();
    if (!ctx.json && ctx.isTTY) ctx.io.stdout.write('\n');
  }
  const { dir, files } = await writeReport(resultsDir, summary);
  if (ctx.json) ctx.printJson({ id: summary.id, dir, files, summary });
  else {
    for (const p of summary.phases)
      ctx.out(
        `${p.name.padEnd(22)} ${String(p.requests).padStart(7)} req  ${p.throughput_rps.toFixed(1).padStart(8)}/s  p50 ${fmt(p.latency_ms.p50)}  p95 ${fmt(p.latency_ms.p95)}  p99 ${fmt(p.latency_ms.p99)} ms  errors ${p.requests - p.ok}`,
      );
    if (summary.restored_settings) ctx.out(`restored max_batch_size ${summary.restored_settings.max_batch_size}, batch_timeout_ms ${summary.restored_settings.batch_timeout_ms}`);
    ctx.out(`report ${summary.id}: ${dir}${summary.interrupted ? ' (interrupted: partial)' : ''}`);
  }
  return summary.interrupted ? EXIT.INTERRUPTED : EXIT.OK;
}

const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(1));

export function registerEval(program: Command, action: Action): void {
  const evalCmd = program.command('eval').description('Evaluate a serving deployment under load (docs/eval.md)');
  evalCmd
    .command('serve <deployment>')
    .description('simulated users (and a batch-settings sweep) against a deployment; writes <out>/eval_results/<id>/')
    .option('--users <n>', 'simulated users, each a closed loop', number({ int: true, min: 1, max: 1024 }), 8)
    .option('--duration <s>', 'the simulated-users phase (seconds or 30s, 2m)', parseDurationS, 30)
    .option('--mode <mode>', 'request: single-image predict calls; session: chunks streamed over session WebSockets', 'request')
    .option('--batch-test', 'then sweep max_batch_size × batch_timeout_ms (PATCH), restoring the settings at the end')
    .option('--batch-only', 'the sweep without the simulated-users phase')
    .option('--batch-sizes <list>', 'sweep max_batch_size values (default 1,8,32)', list)
    .option('--batch-timeouts <list>', 'sweep batch_timeout_ms values (default 0,5,20)', list)
    .option('--phase-duration <s>', 'time per sweep configuration', parseDurationS, 10)
    .option('--out <dir>', "write to <dir>/eval_results/<id>/ (default: the configured state_dir, which the local server serves to the key's tenant)")
    .action((deployment: string, opts: EvalServeOptions, cmd: Command) =>
      action(cmd, (ctx) => {
        if (opts.mode !== 'request' && opts.mode !== 'session') throw new CliError('USAGE', `--mode must be request or session, not "${opts.mode}"`, EXIT.USAGE);
        return serve(ctx, deployment, opts);
      }),
    );
}
