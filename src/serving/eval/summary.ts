/**
 * The shape of `summary.json`: one document per evaluation run, read back by the report writer,
 * the charts and the UI (GET /api/v1/eval/reports/{id}/summary.json).
 */
import type { PhaseCounts, SeriesPoint } from './metrics.ts';

export type EvalMode = 'request' | 'session';

/** The batching settings a phase ran with (as GET /api/v1/deployments/{name} reported them). */
export interface PhaseConfig {
  max_batch_size: number | null;
  batch_timeout_ms: number | null;
  enable_dynamic_batching: boolean | null;
}

export interface PhaseSummary extends PhaseCounts {
  /** `users` for the simulated-users test, `batch <size>x<timeout>ms` for a sweep point. */
  name: string;
  kind: 'users' | 'batch';
  users: number;
  duration_s: number;
  started_at: string;
  config: PhaseConfig;
  /** Rows per batch on the server during this phase (GET …/stats counters), null if unknown. */
  mean_batch_size: number | null;
  series: SeriesPoint[];
}

export interface EvalSummary {
  id: string;
  deployment: string;
  model: string | null;
  mode: EvalMode;
  users: number;
  started_at: string;
  finished_at: string;
  /** Stopped early (Ctrl-C): the phases hold what was measured until then. */
  interrupted: boolean;
  /** The settings the batch sweep restored at the end (null without --batch-test). */
  restored_settings: PhaseConfig | null;
  phases: PhaseSummary[];
}
