/**
 * One evaluation run (seed 003's ray_evaluation.py): a simulated-users phase, then, with a
 * batch sweep, one phase per (max_batch_size, batch_timeout_ms) applied through PATCH. The
 * deployment's batching settings are restored at the end however the run ends (done,
 * failed, or aborted by Ctrl-C), and what was measured until then is still summarized.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelSignature } from '../types.ts';
import { DeploymentApi, type DeploymentJson } from './deployment-api.ts';
import { predictBodies, sessionChunks } from './inputs.ts';
import { countPhase, phaseMeanBatchSize, type RequestRecord, type StatsSnapshot, timeSeries } from './metrics.ts';
import { runId } from './report.ts';
import type { EvalMode, EvalSummary, PhaseConfig, PhaseSummary } from './summary.ts';
import { type LoadTarget, runUsers } from './users.ts';

export interface BatchGrid {
  max_batch_sizes: number[];
  batch_timeouts_ms: number[];
}

export const DEFAULT_GRID: BatchGrid = { max_batch_sizes: [1, 8, 32], batch_timeouts_ms: [0, 5, 20] };

export interface EvaluateOptions {
  target: LoadTarget;
  mode: EvalMode;
  users: number;
  /** The simulated-users phase; 0 skips it (sweep only). */
  durationS: number;
  /** The sweep, or null for none. */
  grid: BatchGrid | null;
  /** Each sweep point's time. */
  phaseDurationS: number;
  signal?: AbortSignal;
  now?: () => Date;
  onPhase?: (p: { index: number; total: number; name: string; durationS: number }) => void;
  onRecord?: (r: RequestRecord) => void;
}

interface PlannedPhase {
  name: string;
  kind: PhaseSummary['kind'];
  durationS: number;
  patch: { max_batch_size: number; batch_timeout_ms: number } | null;
}

export function planPhases(o: Pick<EvaluateOptions, 'durationS' | 'grid' | 'phaseDurationS'>): PlannedPhase[] {
  const phases: PlannedPhase[] = [];
  if (o.durationS > 0) phases.push({ name: 'users', kind: 'users', durationS: o.durationS, patch: null });
  for (const size of o.grid?.max_batch_sizes ?? [])
    for (const timeout of o.grid?.batch_timeouts_ms ?? [])
      phases.push({ name: `batch ${size}x${timeout}ms`, kind: 'batch', durationS: o.phaseDurationS, patch: { max_batch_size: size, batch_timeout_ms: timeout } });
  return phases;
}

const configOf = (d: Pick<DeploymentJson, 'max_batch_size' | 'batch_timeout_ms' | 'enable_dynamic_batching'>): PhaseConfig => ({
  max_batch_size: d.max_batch_size ?? null,
  batch_timeout_ms: d.batch_timeout_ms ?? null,
  enable_dynamic_batching: d.enable_dynamic_batching ?? null,
});

/** The deployment once it has a signature: a starting deployment learns it from its first replica. */
async function signed(api: DeploymentApi, signal: AbortSignal | undefined, waitMs = 120_000): Promise<DeploymentJson & { signature: ModelSignature }> {
  const until = Date.now() + waitMs;
  for (;;) {
    const d = await api.get();
    if (d.signature) return d as DeploymentJson & { signature: ModelSignature };
    if (d.status !== 'starting' || Date.now() > until || signal?.aborted)
      throw new Error(`deployment "${d.name}" has no signature yet (status ${d.status ?? 'unknown'}); wait until it is ready`);
    await sleep(500);
  }
}

export async function evaluate(o: EvaluateOptions): Promise<EvalSummary> {
  const now = o.now ?? (() => new Date());
  const api = new DeploymentApi(o.target);
  const startedAt = now();
  const deployment = await signed(api, o.signal);
  const payloads =
    o.mode === 'request' ? predictBodies(deployment.signature, 16) : sessionChunks(deployment.signature, deployment.state ?? [], 16);
  const plan = planPhases(o);
  const original = configOf(deployment);
  const phases: PhaseSummary[] = [];
  let patched = false;
  try {
    for (const [index, p] of plan.entries()) {
      if (o.signal?.aborted) break;
      let config = original;
      if (p.patch) {
        patched = true;
        config = configOf(await api.patch({ ...p.patch, enable_dynamic_batching: true }));
      }
      o.onPhase?.({ index, total: plan.length, name: p.name, durationS: p.durationS });
      const before = await api.stats().catch(() => null);
      const phaseStart = now();
      const { records, elapsedMs } = await runUsers({
        target: o.target,
        mode: o.mode,
        users: o.users,
        durationMs: p.durationS * 1000,
        payloads,
        signal: o.signal,
        onRecord: o.onRecord,
      });
      const after: StatsSnapshot | null = await api.stats().catch(() => null);
      const durationS = Number((elapsedMs / 1000).toFixed(3));
      phases.push({
        name: p.name,
        kind: p.kind,
        users: o.users,
        duration_s: durationS,
        started_at: phaseStart.toISOString(),
        config,
        ...countPhase(records, durationS),
        mean_batch_size: phaseMeanBatchSize(before, after),
        series: timeSeries(records, durationS),
      });
    }
  } finally {
    // Restored even when a phase threw or the user pressed Ctrl-C: the sweep must not leave
    // a production deployment at max_batch_size 1.
    if (patched) await api.patch({ max_batch_size: original.max_batch_size!, batch_timeout_ms: original.batch_timeout_ms!, enable_dynamic_batching: original.enable_dynamic_batching! });
  }
  return {
    id: runId(startedAt),
    deployment: deployment.name,
    model: deployment.model_version === undefined ? deployment.model : `${deployment.model.split('@')[0]}@${deployment.model_version}`,
    mode: o.mode,
    users: o.users,
    started_at: startedAt.toISOString(),
    finished_at: now().toISOString(),
    interrupted: o.signal?.aborted === true,
    restored_settings: patched ? original : null,
    phases,
  };
}
