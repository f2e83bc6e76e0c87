/**
 * The session demo: the drawing's 28 rows streamed one chunk at a time over a deployment's
 * session WebSocket (a model with state bindings, such as examples/mnist/mnist_rnn.py's GRU),
 * with the running prediction after every row: the guess sharpens as the model reads more of
 * the image. Each drawing opens a session, sends its rows as binary float32 frames, then `EOF`.
 */
import { useEffect, useState } from 'react';
import { type Deployment, serving, type StreamMessage } from '../../api/serving.ts';
import { Card } from '../../components/Page.tsx';

const ROWS = 28;

interface RowGuess {
  row: number;
  top: number;
  confidence: number;
}

const softmax = (logits: number[]): number[] => {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

/** The first output's one row of logits, out of a stream message. */
const logitsOf = (msg: StreamMessage): number[] | null => {
  const first = Object.values(msg.outputs ?? {})[0];
  const row = Array.isArray(first) && Array.isArray(first[0]) ? first[0] : first;
  return Array.isArray(row) && row.every((v) => typeof v === 'number') ? (row as number[]) : null;
};

/** Streams the rows; `onRow` gets each row's guess in order. Resolves when the server answered EOF. */
async function streamRows(d: Deployment, pixels: Float32Array, onRow: (g: RowGuess) => void, signal: AbortSignal): Promise<void> {
  const session = await serving.openSession(d.name, `draw-${Math.random().toString(36).slice(2, 10)}`);
  const ws = new WebSocket(serving.streamUrl(d.name, session.session_id));
  ws.binaryType = 'arraybuffer';
  signal.addEventListener('abort', () => ws.close(1000));
  await new Promise<void>((resolve, reject) => {
    let row = 0;
    ws.onopen = () => {
      for (let r = 0; r < ROWS; r++) ws.send(pixels.slice(r * 28, r * 28 + 28).buffer);
      ws.send('EOF');
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as StreamMessage;
      if (msg.error) return reject(new Error(`row ${row + 1}: ${msg.error.message}`));
      if (msg.event) return resolve();
      const logits = logitsOf(msg);
      if (!logits) return;
      const p = softmax(logits);
      const top = p.indexOf(Math.max(...p));
      onRow({ row: ++row, top, confidence: p[top]! });
    };
    ws.onerror = () => reject(new Error('the session stream failed'));
    ws.onclose = (ev) => (ev.code === 1000 ? resolve() : reject(new Error(`the session stream closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`)));
  });
}

export function SessionDemo({ deployment, pixels, labels }: { deployment: Deployment; pixels: Float32Array | null; labels: string[] }) {
  const [rows, setRows] = useState<RowGuess[]>([]);
  const [status, setStatus] = useState<{ text: string; error?: boolean }>({ text: '' });

  useEffect(() => {
    setRows([]);
    if (!pixels) {
      setStatus({ text: '' });
      return;
    }
    const controller = new AbortController();
    setStatus({ text: 'Streaming rows…' });
    streamRows(deployment, pixels, (g) => setRows((r) => [...r, g]), controller.signal).then(
      () => !controller.signal.aborted && setStatus({ text: '' }),
      (err: unknown) => !controller.signal.aborted && setStatus({ text: err instanceof Error ? err.message : String(err), error: true }),
    );
    return () => controller.abort();
  }, [deployment, pixels]);

  const last = rows[rows.length - 1];
  const name = (i: number) => labels[i] ?? String(i);
  return (
    <Card title="Row by row (streaming session)" hint={`Deployment ${deployment.name} (${deployment.model}@${deployment.model_version}) reads the drawing one row at a time, carrying its state between rows.`}>
      <div className="stack-sm">
        <div className="row">
          <span className="prediction" data-testid="session-prediction" aria-live="polite">
            {last ? name(last.top) : '—'}
          </span>
          <span className="muted">{last ? `after row ${last.row} of ${ROWS}, ${(last.confidence * 100).toFixed(1)}% confident` : 'Draw to stream the rows'}</span>
        </div>
        <ol className="row-steps" aria-label="The top class after each row" data-testid="session-rows">
          {rows.map((g) => (
            <li key={g.row} title={`row ${g.row}: ${name(g.top)} ${(g.confidence * 100).toFixed(1)}%`} data-final={g.row === ROWS}>
              <span className="bar" style={{ height: `${Math.round(g.confidence * 60)}px` }} />
              <span className="label">{name(g.top)}</span>
            </li>
          ))}
        </ol>
        <div role="status" className={status.error ? 'field-error' : 'muted small'} style={{ minHeight: '1.5em' }}>
          {status.text}
        </div>
      </div>
    </Card>
  );
}
