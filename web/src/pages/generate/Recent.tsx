/** Recent generations as a gallery of covers; choosing one shows it in the viewer. */
import type { Generation } from '../../api/types.ts';
import { withToken } from '../../api/auth.ts';
import { Icon } from '../../components/Icon.tsx';
import { GenerationBadge } from '../../components/Status.tsx';
import { Skeleton } from '../../components/States.tsx';
import { useNow } from '../../hooks/useNow.ts';
import { ago } from '../../lib/format.ts';

export function Recent({ items, loading, selected, onSelect }: { items: Generation[] | undefined; loading: boolean; selected: string | null; onSelect: (g: Generation) => void }) {
  const now = useNow(15_000);
  if (loading && !items) {
    return (
      <div className="gallery" role="status" aria-label="Loading recent generations">
        {Array.from({ length: 4 }, (_, i) => (
          <Skeleton key={i} height={170} style={{ borderRadius: 'var(--r-md)' }} />
        ))}
      </div>
    );
  }
  if (!items || items.length === 0) {
    return <p className="muted small">No generations yet — your videos will be listed here.</p>;
  }
  return (
    <ul className="gallery" style={{ listStyle: 'none', margin: 0, padding: 0 }}>
      {items.map((g) => (
        <li key={g.task_id} style={{ display: 'contents' }}>
          <button type="button" className="gallery-item" aria-current={g.task_id === selected} onClick={() => onSelect(g)} aria-label={`${g.status.toLowerCase()}: ${g.prompt ?? 'image to video'}`}>
            <div className="gallery-thumb">
              {g.result?.cover_url ? <img src={withToken(g.result.cover_url)} alt="" loading="lazy" /> : <Icon name={g.status === 'SUCCEEDED' ? 'play' : 'film'} />}
              <GenerationBadge status={g.status} />
            </div>
            <div className="gallery-meta">
              <span className="prompt">{g.prompt || <em className="muted">No prompt</em>}</span>
              <span className="when">
                {ago(g.created_at, now)} · {g.size?.replace('*', '×')}
              </span>
            </div>
          </button>
        </li>
      ))}
    </ul>
  );
}
