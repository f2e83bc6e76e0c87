/** A task's artifacts: links, with a player or picture for video and image files. */
import { api, listOf } from '../../api/client.ts';
import { withToken } from '../../api/auth.ts';
import type { Artifact } from '../../api/types.ts';
import { Card } from '../../components/Page.tsx';
import { useResource } from '../../hooks/useResource.ts';
import { bytes, plural } from '../../lib/format.ts';

export function ArtifactsCard({ taskId, fromEvents, finished }: { taskId: string; fromEvents: Artifact[]; finished: boolean }) {
  const listed = useResource(
    async (signal) => {
      try {
        return listOf<Artifact>(await api.artifacts(taskId, signal), ['artifacts', 'files', 'items']);
      } catch {
        return null; // no artifacts endpoint on this server: the events say what there is
      }
    },
    `${taskId}|${finished}|${fromEvents.length}`,
  );
  const items = (listed.data ?? fromEvents).filter((a, i, all) => all.findIndex((b) => b.name === a.name) === i);
  if (items.length === 0) return null;
  return (
    <Card title="Artifacts" hint={plural(items.length, 'file')}>
      <div className="charts">
        {items.map((a) => {
          const href = withToken(a.url ?? api.artifactUrl(taskId, a.name));
          const type = a.content_type ?? guessType(a.name);
          return (
            <div key={a.name} className="artifact">
              {type?.startsWith('video/') ? (
                <video src={href} controls preload="metadata" aria-label={a.name} />
              ) : type?.startsWith('image/') ? (
                <img src={href} alt={a.name} loading="lazy" />
              ) : null}
              <div className="row">
                <a href={href} target="_blank" rel="noreferrer" className="truncate" style={{ fontWeight: 600, maxWidth: '100%' }}>
                  {a.name}
                </a>
                <span className="muted small">
                  {type ?? ''}
                  {a.size !== undefined ? ` · ${bytes(a.size)}` : ''}
                </span>
              </div>
            </div>
          );
        })}
      </div>
    </Card>
  );
}

const guessType = (name: string): string | null => {
  const ext = name.split('.').pop()?.toLowerCase();
  const types: Record<string, string> = { mp4: 'video/mp4', webm: 'video/webm', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', json: 'application/json' };
  return ext ? (types[ext] ?? null) : null;
};
