/** Status badges for tasks and generations, and the progress bar every page shares. */
import type { GenerationStatus, TaskStatus } from '../api/types.ts';
import { percent } from '../lib/format.ts';

type Tone = 'neutral' | 'success' | 'danger' | 'warning' | 'info' | 'accent';

const TASK_TONES: Record<TaskStatus, Tone> = {
  pending: 'neutral',
  running: 'info',
  cancelling: 'warning',
  completed: 'success',
  failed: 'danger',
  cancelled: 'neutral',
};

export const toneOf = (status: TaskStatus): Tone => TASK_TONES[status];

export function StatusBadge({ status }: { status: TaskStatus }) {
  return (
    <span className="badge" data-tone={TASK_TONES[status]} data-pulse={status === 'running' || status === 'cancelling'} data-status={status}>
      {status}
    </span>
  );
}

const GEN: Record<GenerationStatus, { tone: Tone; label: string }> = {
  QUEUED: { tone: 'neutral', label: 'Queued' },
  RUNNING: { tone: 'info', label: 'Generating' },
  SUCCEEDED: { tone: 'success', label: 'Ready' },
  FAILED: { tone: 'danger', label: 'Failed' },
  CANCELLED: { tone: 'neutral', label: 'Cancelled' },
};

export function GenerationBadge({ status }: { status: GenerationStatus }) {
  const g = GEN[status] ?? { tone: 'neutral' as const, label: status };
  return (
    <span className="badge" data-tone={g.tone} data-pulse={status === 'RUNNING'} data-status={status}>
      {g.label}
    </span>
  );
}

export interface ProgressProps {
  /** 0..1, or null for "working, amount unknown". */
  fraction: number | null;
  label?: string;
  tone?: 'accent' | 'success' | 'danger' | 'neutral';
  large?: boolean;
  /** Accessible name of the bar. */
  name?: string;
  showLabel?: boolean;
}

export function ProgressBar({ fraction, label, tone = 'accent', large, name = 'Progress', showLabel = true }: ProgressProps) {
  const f = fraction === null ? null : Math.min(1, Math.max(0, fraction));
  const text = label ?? (f === null ? '' : percent(f));
  return (
    <div className={`progress${large ? ' progress-lg' : ''}`} data-tone={tone} data-indeterminate={f === null}>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={name}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={f === null ? undefined : Math.round(f * 100)}
        aria-valuetext={f === null ? 'working' : text}
      >
        <div className="progress-fill" style={{ width: `${(f ?? 0) * 100}%` }} />
      </div>
      {showLabel && <span className="progress-label">{text}</span>}
    </div>
  );
}
