/** Loading skeletons, empty states and error states, so every page says what is going on. */
import type { CSSProperties, ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import { Icon, type IconName } from './Icon.tsx';

export function Skeleton({ width = '100%', height = 14, style }: { width?: number | string; height?: number | string; style?: CSSProperties }) {
  return <span className="skeleton" style={{ width, height, ...style }} aria-hidden="true" />;
}

/** A table-shaped placeholder while a list loads. */
export function SkeletonRows({ rows = 5, columns = 4 }: { rows?: number; columns?: number }) {
  return (
    <div className="card-body stack-sm" role="status" aria-label="Loading">
      {Array.from({ length: rows }, (_, r) => (
        <div key={r} className="row" style={{ flexWrap: 'nowrap' }}>
          {Array.from({ length: columns }, (_, c) => (
            <Skeleton key={c} width={c === 0 ? '32%' : `${Math.round(60 / columns)}%`} height={16} />
          ))}
        </div>
      ))}
      <span className="visually-hidden">Loading…</span>
    </div>
  );
}

export function SkeletonBlock({ lines = 3 }: { lines?: number }) {
  return (
    <div className="stack-sm" role="status" aria-label="Loading">
      {Array.from({ length: lines }, (_, i) => (
        <Skeleton key={i} width={`${90 - i * 17}%`} height={16} />
      ))}
      <span className="visually-hidden">Loading…</span>
    </div>
  );
}

export function EmptyState({ icon = 'compass', title, children, action }: { icon?: IconName; title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-icon">
        <Icon name={icon} />
      </div>
      <h3>{title}</h3>
      {children}
      {action}
    </div>
  );
}

/** What went wrong, in words a person can act on; with a retry when it makes sense. */
export function ErrorState({ error, onRetry, what = 'this' }: { error: unknown; onRetry?: () => void; what?: string }) {
  const e = error instanceof ApiError ? error : null;
  let title = `Could not load ${what}`;
  let detail: ReactNode = error instanceof Error ? error.message : String(error);
  if (e?.unreachable) {
    title = 'The Lakeray API is not reachable';
    detail = (
      <>
        The server did not answer. Start it with <code>npm start</code> (or <code>npx lakeray up</code>) and try again.
      </>
    );
  } else if (e?.notFound) {
    title = `Not found`;
    detail = e.message;
  }
  return (
    <div className="empty" role="alert">
      <div className="empty-icon" style={{ background: 'var(--c-danger-soft)', color: 'var(--c-danger)' }}>
        <Icon name={e?.unreachable ? 'plug' : 'alert'} />
      </div>
      <h3>{title}</h3>
      <p>{detail}</p>
      {e && !e.unreachable && <p className="muted small mono">{e.code}</p>}
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          <Icon name="refresh" /> Try again
        </button>
      )}
    </div>
  );
}

export function Callout({ tone = 'info', title, children, icon }: { tone?: 'info' | 'danger' | 'warning'; title?: ReactNode; children?: ReactNode; icon?: IconName }) {
  return (
    <div className="callout" data-tone={tone} role={tone === 'danger' ? 'alert' : undefined}>
      <Icon name={icon ?? (tone === 'info' ? 'info' : 'alert')} />
      <div>
        {title && <div className="callout-title">{title}</div>}
        {children && <div>{children}</div>}
      </div>
    </div>
  );
}
