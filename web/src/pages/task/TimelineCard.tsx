/** A task's events in order (state changes, artifacts, result, errors, service states). */
import type { Task, TaskEvent } from '../../api/types.ts';
import { Card } from '../../components/Page.tsx';
import { toneOf } from '../../components/Status.tsx';
import { SkeletonBlock } from '../../components/States.tsx';
import { plural, time } from '../../lib/format.ts';

const TIMELINE_TONE: Record<string, string> = { artifact: 'accent', result: 'success', error: 'danger', service: 'info' };

function describe(ev: TaskEvent): { what: string; detail?: string; tone: string } {
  const d = ev.data;
  switch (ev.type) {
    case 'state': {
      const status = String(d.status);
      const tone = toneOf(status as Task['status']) ?? 'neutral';
      const err = d.error as { code?: string; message?: string } | undefined;
      return { what: status[0]!.toUpperCase() + status.slice(1), detail: [d.reason, err?.code && `${err.code}: ${err.message ?? ''}`, d.attempt ? `attempt ${String(d.attempt)}` : null].filter(Boolean).join(' · ') || undefined, tone };
    }
    case 'artifact':
      return { what: 'Artifact', detail: String(d.name ?? d.path ?? ''), tone: 'accent' };
    case 'result':
      return { what: 'Result', detail: truncate(JSON.stringify(d.value ?? d)), tone: 'success' };
    case 'error':
      return { what: 'Error', detail: `${String(d.code ?? '')} ${String(d.message ?? '')}`.trim(), tone: 'danger' };
    case 'service':
      return { what: `Service ${String(d.state)}`, detail: [d.port !== undefined ? `port ${String(d.port)}` : null, d.restarts ? `${String(d.restarts)} restarts` : null].filter(Boolean).join(' · ') || undefined, tone: 'info' };
    default:
      return { what: ev.type, detail: truncate(JSON.stringify(d)), tone: TIMELINE_TONE[ev.type] ?? 'neutral' };
  }
}

const truncate = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…` : s);

export function TimelineCard({ events, counts }: { events: TaskEvent[]; counts: Record<string, number> }) {
  const quiet = ['progress', 'metric', 'log'].filter((k) => counts[k]).map((k) => plural(counts[k]!, k === 'progress' ? 'progress update' : k === 'metric' ? 'metric point' : 'log line'));
  return (
    <Card title="Timeline" hint={quiet.length ? `Plus ${quiet.join(', ')}` : undefined} bodyless>
      {events.length === 0 ? (
        <div className="card-body">
          <SkeletonBlock lines={3} />
        </div>
      ) : (
        <ol className="timeline">
          {events.map((ev) => {
            const x = describe(ev);
            return (
              <li key={ev.seq}>
                <span className="dot" data-tone={x.tone} aria-hidden="true" />
                <div>
                  <div className="what">{x.what}</div>
                  {x.detail && <div className="detail">{x.detail}</div>}
                  <div className="when">
                    {time(ev.ts)} · #{ev.seq}
                  </div>
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </Card>
  );
}
