/**
 * The viewer for the selected generation: queued (live position), generating (progress bar,
 * percentage, ETA), the finished video (player with the cover as poster, download link), or
 * what went wrong and at which step.
 */
import { useEffect, useRef, useState } from 'react';
import { withToken } from '../../api/auth.ts';
import { type Generation, isFinished } from '../../api/types.ts';
import { Icon } from '../../components/Icon.tsx';
import { GenerationBadge, ProgressBar } from '../../components/Status.tsx';
import { Callout } from '../../components/States.tsx';
import type { GenerationView } from '../../hooks/useGeneration.ts';
import { useNow } from '../../hooks/useNow.ts';
import { between, duration } from '../../lib/format.ts';
import { Link } from '../../router.tsx';

function etaOf(gen: Generation, runningSince: number | null, now: number): number | null {
  if (gen.eta_seconds !== null && gen.eta_seconds !== undefined && Number.isFinite(gen.eta_seconds)) return Math.max(0, gen.eta_seconds);
  const f = gen.progress / 100;
  if (!runningSince || f < 0.03) return null;
  const elapsed = (now - runningSince) / 1000;
  return Math.max(0, (elapsed * (1 - f)) / f);
}

const queueText = (pos: number | null): string =>
  pos === null ? 'Waiting for a free GPU…' : pos === 0 ? 'Next in line' : `${pos} ${pos === 1 ? 'generation' : 'generations'} ahead of yours`;

/** A short sentence for screen readers, only when something worth saying changed. */
function announcement(gen: Generation): string {
  switch (gen.status) {
    case 'QUEUED':
      return `Queued. ${queueText(gen.queue_position)}.`;
    case 'RUNNING':
      return `Generating, ${Math.floor(gen.progress / 25) * 25}% done.`;
    case 'SUCCEEDED':
      return 'Your video is ready.';
    case 'FAILED':
      return `Generation failed: ${gen.error?.message ?? 'unknown error'}.`;
    case 'CANCELLED':
      return 'Generation cancelled.';
  }
}

export function Stage({ view, onCancel, cancelling }: { view: GenerationView; onCancel: () => void; cancelling: boolean }) {
  const { gen, message, runningSince } = view;
  const now = useNow(1000);
  const video = useRef<HTMLVideoElement>(null);
  const [videoError, setVideoError] = useState(false);
  useEffect(() => setVideoError(false), [gen?.result?.video_url]);

  if (!gen) {
    return (
      <section className="card stage" aria-label="Result">
        <div className="stage-screen">
          <div className="stage-idle">
            <Icon name="film" />
            <h2 style={{ color: '#fff' }}>Your video appears here</h2>
            <p>Describe a scene, optionally add a start image, and press Generate. You will see your place in the queue, then the frames being made.</p>
          </div>
        </div>
      </section>
    );
  }

  const active = !isFinished(gen.status);
  const eta = gen.status === 'RUNNING' ? etaOf(gen, runningSince, now) : null;
  const fraction = gen.status === 'SUCCEEDED' ? 1 : gen.progress / 100;
  const r = gen.result;

  return (
    <section className="card stage" aria-label="Result" data-status={gen.status} data-generation={gen.task_id}>
      <div className="stage-screen">
        {gen.status === 'SUCCEEDED' && r?.video_url ? (
          videoError ? (
            <div className="stage-idle">
              <Icon name="alert" />
              <p>The video could not be played in this browser. Download it instead.</p>
            </div>
          ) : (
            <video
              ref={video}
              key={r.video_url}
              src={withToken(r.video_url)}
              poster={r.cover_url ? withToken(r.cover_url) : undefined}
              controls
              playsInline
              preload="auto"
              aria-label={`Generated video: ${gen.prompt ?? ''}`}
              onError={() => setVideoError(true)}
            />
          )
        ) : gen.status === 'QUEUED' ? (
          <div className="stage-status">
            <div className="orbit" aria-hidden="true" />
            <div className="big">Queued</div>
            <div className="sub" data-testid="queue-position">
              {queueText(gen.queue_position)}
            </div>
          </div>
        ) : gen.status === 'RUNNING' ? (
          <div className="stage-status">
            <div className="big" data-testid="progress-percent">
              {Math.floor(gen.progress)}%
            </div>
            <ProgressBar fraction={fraction} large name="Generation progress" showLabel={false} tone="accent" />
            <div className="sub">
              {message ?? gen.progress_message ?? 'Generating frames…'}
              {eta !== null && ` · about ${duration(eta)} left`}
            </div>
          </div>
        ) : gen.status === 'FAILED' ? (
          <div className="stage-idle">
            <Icon name="alert" />
            <h2 style={{ color: '#fff' }}>Generation failed</h2>
            <p>{gen.error?.message ?? 'The generation stopped with an error.'}</p>
          </div>
        ) : gen.status === 'CANCELLED' ? (
          <div className="stage-idle">
            <Icon name="stop" />
            <h2 style={{ color: '#fff' }}>Cancelled</h2>
            <p>This generation was cancelled before it finished.</p>
          </div>
        ) : (
          <div className="stage-idle">
            <Icon name="alert" />
            <p>Generation finished without a video.</p>
          </div>
        )}
      </div>

      <div className="stage-info">
        <div className="visually-hidden" role="status" aria-live="polite">
          {announcement(gen)}
        </div>
        <div className="row">
          <GenerationBadge status={gen.status} />
          <span className="muted small">
            {gen.size?.replace('*', ' × ')}
            {r && ` · ${r.num_frames} frames · ${r.fps} fps · ${duration(r.duration)}`}
            {gen.started_at && ` · ${isFinished(gen.status) ? 'took' : 'running for'} ${duration(between(gen.started_at, gen.finished_at, now))}`}
          </span>
          <span className="spacer" />
          {active && (
            <button type="button" className="btn btn-danger btn-sm" onClick={onCancel} disabled={cancelling}>
              <Icon name="stop" /> {cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
          )}
          {gen.status === 'SUCCEEDED' && r?.video_url && (
            <a className="btn btn-sm" href={withToken(r.video_url)} download>
              <Icon name="download" /> Download
            </a>
          )}
        </div>
        {gen.status !== 'QUEUED' && (
          <ProgressBar
            fraction={fraction}
            label={`${Math.floor(fraction * 100)}%`}
            name="Generation progress"
            tone={gen.status === 'SUCCEEDED' ? 'success' : gen.status === 'FAILED' ? 'danger' : gen.status === 'CANCELLED' ? 'neutral' : 'accent'}
          />
        )}
        {gen.status === 'FAILED' && gen.error && (
          <Callout tone="danger" title={`${gen.error.code}${gen.error.step ? ` at step “${gen.error.step}”` : ''}`}>
            {gen.error.message}
          </Callout>
        )}
        {gen.prompt && <p className="stage-prompt">{gen.prompt}</p>}
        <div className="row small">
          <Link to={`/tasks/${encodeURIComponent(gen.task_id)}`}>Task details, logs and events</Link>
          {r?.cover_url && (
            <a href={withToken(r.cover_url)} target="_blank" rel="noreferrer">
              Cover image
            </a>
          )}
        </div>
      </div>
    </section>
  );
}
