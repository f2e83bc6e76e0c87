/**
 * What the served model can answer, said before anyone draws: the demo model is a
 * Fashion-MNIST classifier, and a page that reads like a digit recognizer makes "a drawn 7 is a
 * Sandal (95 %)" look like a bug. Every drawing gets one of the model's classes, and only those.
 */
import type { ReactNode } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { Link } from '../../router.tsx';

export interface ServedModel {
  name?: string;
  version?: number;
  accuracy?: unknown;
  servedBy: { kind: 'deployment'; name: string } | { kind: 'task'; id: string };
}

function about(kind: 'fashion' | 'digits' | 'other', n: number): { title: string; text: ReactNode } {
  if (kind === 'fashion')
    return {
      title: 'This model knows 10 kinds of clothing',
      text: (
        <>
          Trained on <strong>Fashion-MNIST</strong> (small pictures of clothes and shoes), it answers every drawing with one of these 10 classes, even a digit: a drawn 7 gets the
          name of the piece of clothing it looks most like.
        </>
      ),
    };
  if (kind === 'digits')
    return {
      title: 'This model knows the digits 0 to 9',
      text: <>It was trained on handwritten digits (MNIST) and answers every drawing with one of these 10. Draw one digit, large and centered.</>,
    };
  return { title: `This model knows ${n} classes`, text: <>It answers every drawing with one of these, and only these.</> };
}

export function ModelKnows({ labels, kind, model }: { labels: string[]; kind: 'fashion' | 'digits' | 'other'; model: ServedModel }) {
  const { title, text } = about(kind, labels.length);
  return (
    <section className="model-knows" aria-labelledby="model-knows-title" data-testid="model-knows">
      <Icon name="info" />
      <div className="stack-sm" style={{ gap: 'var(--s-2)' }}>
        <h2 id="model-knows-title">{title}</h2>
        <p>{text}</p>
        <ul className="kv-chips" aria-label="The classes the model knows">
          {labels.map((l) => (
            <li key={l} className="tag">
              {l}
            </li>
          ))}
        </ul>
        <p className="muted small">
          Model <strong>{model.name ?? '…'}</strong>
          {model.version !== undefined && ` v${model.version}`}
          {typeof model.accuracy === 'number' && ` · test accuracy ${(model.accuracy * 100).toFixed(1)}%`} · served by{' '}
          {model.servedBy.kind === 'task' ? (
            <>
              task <Link to={`/tasks/${encodeURIComponent(model.servedBy.id)}`}>{model.servedBy.id}</Link>
            </>
          ) : (
            <>
              deployment <Link to={`/deployments/${encodeURIComponent(model.servedBy.name)}`}>{model.servedBy.name}</Link>
            </>
          )}
        </p>
      </div>
    </section>
  );
}
