/**
 * The progress line `lakeray watch` redraws in place:
 *   [######----] 42% 2.1s ETA 3s loading shards
 * and the ETA estimator behind it. Both are pure (time is passed in) for exact unit tests.
 */
import { formatDuration, formatEta } from './format.ts';

export interface BarInput {
  fraction: number;
  elapsedMs: number;
  /** Seconds left, or null when unknown (no ETA is shown rather than a guess). */
  etaS: number | null;
  message?: string | null;
  /** Terminal width; the line never reaches it, since a wrapped line breaks `\r` redraws. */
  width: number;
  /** Bar cells; default scales with the terminal (10..30). */
  cells?: number;
}

export function renderBar(o: BarInput): string {
  const f = Number.isFinite(o.fraction) ? Math.min(1, Math.max(0, o.fraction)) : 0;
  const cells = o.cells ?? Math.max(10, Math.min(30, Math.floor(o.width / 4)));
  // floor: a bar is never full (nor 100%) before the work is.
  const filled = Math.floor(f * cells);
  const pct = `${Math.floor(f * 100)}%`.padStart(4);
  let line = `[${'#'.repeat(filled)}${'-'.repeat(cells - filled)}] ${pct} ${formatDuration(o.elapsedMs)}`;
  if (o.etaS !== null && f < 1) line += ` ETA ${formatEta(o.etaS)}`;
  const message = (o.message ?? '').replace(/\s+/g, ' ').trim();
  if (message) line += ` ${message}`;
  const max = Math.max(1, o.width - 1);
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

interface Sample {
  t: number;
  f: number;
}

/**
 * Estimates time left from the recent progress rate: the slope over the samples of the
 * last `windowMs` (so a slow start, e.g. loading a model, does not skew it forever), counted
 * down between updates. A fraction that goes backwards (a retry restarted) resets it.
 */
export class EtaEstimator {
  private samples: Sample[] = [];
  private hint: { etaS: number; t: number } | null = null;

  constructor(private readonly windowMs = 30_000) {}

  /** `startMs`: when the work began; gives a rate from the very first progress report. */
  start(startMs: number): void {
    this.samples = [{ t: startMs, f: 0 }];
    this.hint = null;
  }

  /** A progress report at time `t`; `etaS` is the script's own estimate, preferred when given. */
  add(t: number, fraction: number, etaS?: number | null): void {
    const last = this.samples.at(-1);
    if (last && fraction < last.f) this.samples = [];
    this.samples.push({ t, f: fraction });
    const cutoff = t - this.windowMs;
    // Keep one sample older than the window so the slope always spans the full window.
    while (this.samples.length > 2 && this.samples[1]!.t <= cutoff) this.samples.shift();
    this.hint = etaS !== null && etaS !== undefined && Number.isFinite(etaS) && etaS >= 0 ? { etaS, t } : null;
  }

  /** Seconds left at `now`, or null when there is no rate yet. */
  etaS(now: number): number | null {
    if (this.hint) return Math.max(0, this.hint.etaS - (now - this.hint.t) / 1000);
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last === first) return null;
    if (last.f >= 1) return 0;
    const rate = (last.f - first.f) / (last.t - first.t); // fraction per ms
    if (!(rate > 0)) return null;
    const left = (1 - last.f) / rate - (now - last.t);
    return Math.max(0, left / 1000);
  }
}
