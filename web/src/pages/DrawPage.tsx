/**
 * Draw: the MNIST drawing page inside the UI. It finds a running `mnist_serve` service
 * (GET /api/v1/services), draws with pointer events on a 280×280 canvas, preprocesses the
 * drawing exactly like examples/mnist/index.html (lib/preprocess.ts) and asks the service,
 * through the platform's proxy, for a prediction on every pen-up.
 */
import { type KeyboardEvent, type PointerEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, request } from '../api/client.ts';
import type { ServiceInfo } from '../api/types.ts';
import { Icon } from '../components/Icon.tsx';
import { Card, Page } from '../components/Page.tsx';
import { Callout, EmptyState, ErrorState, SkeletonBlock } from '../components/States.tsx';
import { useResource } from '../hooks/useResource.ts';
import { metric } from '../lib/format.ts';
import { DIGITS, isFashion, preprocess } from '../lib/preprocess.ts';
import { Link } from '../router.tsx';
import { ModelKnows } from './draw/ModelKnows.tsx';

interface Prediction {
  prediction: number;
  confidence: number;
  probabilities: number[];
  label_names?: string[];
}

interface ModelInfo {
  model?: string;
  version?: number;
  metrics?: Record<string, unknown>;
  label_names?: string[];
}

const pickService = (list: ServiceInfo[]): ServiceInfo | undefined => {
  const mnist = list.filter((s) => s.name === 'mnist_serve' || s.name.startsWith('mnist_serve') || s.name.includes('mnist'));
  return mnist.find((s) => s.state === 'ready') ?? mnist[0];
};

export function DrawPage() {
  const services = useResource((signal) => api.services(signal), 'services');
  const service = services.data ? pickService(services.data.services) : undefined;
  const ready = service?.state === 'ready';

  // Until a service is ready, look again every few seconds (the demo may be starting it).
  const { reload } = services;
  useEffect(() => {
    if (ready) return;
    const t = setInterval(reload, 3000);
    return () => clearInterval(t);
  }, [ready, reload]);

  return (
    <Page title="Draw" subtitle="Draw something, and the served model says which of the classes it was trained on your drawing looks like.">
      {services.error !== undefined && !services.data ? (
        <div className="card">
          <ErrorState error={services.error} onRetry={services.reload} what="the services" />
        </div>
      ) : !services.data ? (
        <div className="card card-body">
          <SkeletonBlock lines={3} />
        </div>
      ) : !service ? (
        <div className="card">
          <EmptyState icon="pen" title="No MNIST model is serving yet">
            <MissingData />
            <p>Train the demo model (a Fashion-MNIST classifier: 10 kinds of clothing) on the lake's data and start its inference service with one command; this page finds it on its own.</p>
            <code className="cmd">npx lakeray demo mnist</code>
            <p className="muted small">
              It runs as ordinary tasks: watch them on the <Link to="/tasks">Tasks</Link> page.
            </p>
          </EmptyState>
        </div>
      ) : !ready ? (
        <div className="card">
          <EmptyState icon="refresh" title={`The model service is ${service.state}…`}>
            <p>
              Task <Link to={`/tasks/${encodeURIComponent(service.task_id)}`}>{service.task_id}</Link> is starting its HTTP server. This page connects as soon as it is healthy.
            </p>
          </EmptyState>
        </div>
      ) : (
        <DrawingBoard service={service} />
      )}
    </Page>
  );
}

/** One line when the last MNIST ingestion found no Fashion-MNIST files: the script's message names the fix. */
function MissingData() {
  const last = useResource(async (signal) => (await api.tasks({ name: 'mnist_ingestion', limit: 1 }, signal)).tasks[0], 'mnist_ingestion');
  const error = last.data?.status === 'failed' ? last.data.error : null;
  if (error?.code !== 'INPUT_NOT_FOUND') return null;
  return <Callout tone="warning">{error.message}</Callout>;
}

function DrawingBoard({ service }: { service: ServiceInfo }) {
  const base = service.url.endsWith('/') ? service.url : `${service.url}/`;
  const info = useResource((signal) => request<ModelInfo>(`${base}model`, { signal }), base);
  const labels = info.data?.label_names?.length ? info.data.label_names.map(String) : DIGITS;
  const fashion = isFashion(labels);

  const pad = useRef<HTMLCanvasElement>(null);
  const preview = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const last = useRef<{ x: number; y: number } | null>(null);
  const inFlight = useRef<AbortController | null>(null);
  const [result, setResult] = useState<Prediction | null>(null);
  const [status, setStatus] = useState<{ text: string; error?: boolean }>({ text: '' });

  const clear = useCallback(() => {
    const ctx = pad.current?.getContext('2d');
    const pctx = preview.current?.getContext('2d');
    if (ctx) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, 280, 280);
    }
    if (pctx) {
      pctx.fillStyle = '#000';
      pctx.fillRect(0, 0, 28, 28);
    }
    inFlight.current?.abort();
    setResult(null);
    setStatus({ text: '' });
  }, []);

  useEffect(() => clear(), [clear]);

  const point = (e: { clientX: number; clientY: number }) => {
    const c = pad.current!;
    const r = c.getBoundingClientRect();
    return { x: (e.clientX - r.left) * (c.width / r.width), y: (e.clientY - r.top) * (c.height / r.height) };
  };

  const stroke = (from: { x: number; y: number }, to: { x: number; y: number }, pressure: number) => {
    const ctx = pad.current?.getContext('2d');
    if (!ctx) return;
    ctx.strokeStyle = '#fff';
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = 20 * (pressure > 0 && pressure !== 0.5 ? 0.6 + pressure * 0.8 : 1);
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  };

  const predict = async () => {
    const canvas = pad.current;
    const ctx = canvas?.getContext('2d', { willReadFrequently: true });
    if (!canvas || !ctx) return;
    const src = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const gray = new Float32Array(canvas.width * canvas.height);
    for (let i = 0; i < gray.length; i++) gray[i] = src[i * 4]! / 255;
    const pixels = preprocess(gray, canvas.width, canvas.height, fashion);
    if (!pixels) {
      setStatus({ text: 'Draw something first.' });
      return;
    }
    const pctx = preview.current?.getContext('2d');
    if (pctx) {
      const img = pctx.createImageData(28, 28);
      for (let i = 0; i < 784; i++) {
        const v = Math.round(pixels[i]! * 255);
        img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = v;
        img.data[i * 4 + 3] = 255;
      }
      pctx.putImageData(img, 0, 0);
    }
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setStatus({ text: 'Predicting…' });
    try {
      const body = await request<Prediction>(`${base}predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: Array.from(pixels, (v) => Math.round(v * 1e4) / 1e4) }),
        signal: controller.signal,
      });
      setResult(body);
      setStatus({ text: '' });
    } catch (err) {
      if (controller.signal.aborted) return;
      setStatus({ text: `Prediction failed: ${err instanceof Error ? err.message : String(err)}`, error: true });
    }
  };

  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    e.currentTarget.setPointerCapture(e.pointerId);
    drawing.current = true;
    last.current = point(e);
    stroke(last.current, last.current, e.pressure);
  };
  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    if (!drawing.current || !last.current) return;
    e.preventDefault();
    const native = e.nativeEvent;
    const events = typeof native.getCoalescedEvents === 'function' ? native.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [native]) {
      const p = point(ev);
      stroke(last.current, p, ev.pressure);
      last.current = p;
    }
  };
  const onPointerUp = (e: PointerEvent<HTMLCanvasElement>) => {
    if (!drawing.current) return;
    drawing.current = false;
    last.current = null;
    if (e.type === 'pointerup') void predict();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      clear();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      void predict();
    }
  };

  const names = result?.label_names && result.label_names.length === result.probabilities.length ? result.label_names.map(String) : labels;
  const kind = fashion ? 'fashion' : labels.every((l, i) => l === DIGITS[i]) && labels.length === DIGITS.length ? 'digits' : 'other';
  return (
    <>
      {info.data?.label_names?.length ? (
        <ModelKnows labels={labels} kind={kind} model={{ name: info.data.model, version: info.data.version, accuracy: info.data.metrics?.accuracy, taskId: service.task_id }} />
      ) : (
        info.loading && <SkeletonBlock lines={2} />
      )}
      <div className="draw-layout">
        <Card title="Drawing">
          <canvas
            ref={pad}
            className="pad"
            width={280}
            height={280}
            tabIndex={0}
            role="img"
            aria-label="Drawing area, 280 by 280 pixels: draw with a mouse, a finger or a pen. Press Enter to predict, Escape to clear."
            aria-keyshortcuts="Enter Escape"
            data-testid="draw-pad"
            onPointerDown={onPointerDown}
            onPointerMove={onPointerMove}
            onPointerUp={onPointerUp}
            onPointerCancel={onPointerUp}
            onKeyDown={onKeyDown}
          />
          <div className="row" style={{ marginTop: 'var(--s-3)' }}>
            <button type="button" className="btn" onClick={() => { clear(); pad.current?.focus(); }} aria-keyshortcuts="Escape">
              <Icon name="x" /> Clear
            </button>
            <button type="button" className="btn btn-primary" onClick={() => void predict()}>
              <Icon name="sparkles" /> Predict
            </button>
          </div>
          <p className="field-help" style={{ marginTop: 'var(--s-2)', maxWidth: 280 }}>
            {fashion
              ? 'Draw a filled silhouette (a shoe, a bag, a shirt…); it is scaled to fill 28×28.'
              : 'Draw one digit, large and centered; it is scaled to 20×20 and centered by its mass, like MNIST.'}
          </p>
        </Card>
        <Card title="Prediction">
          <div className="row" style={{ gap: 'var(--s-5)', marginBottom: 'var(--s-4)', flexWrap: 'nowrap' }}>
            <canvas ref={preview} className="pad-preview" width={28} height={28} role="img" aria-label="The 28 by 28 image sent to the model" />
            <div>
              <div className="prediction" aria-live="polite" data-testid="prediction">
                {result ? (names[result.prediction] ?? String(result.prediction)) : '—'}
              </div>
              <div className="muted">{result ? `${(result.confidence * 100).toFixed(1)}% confident` : 'Draw to see a guess'}</div>
            </div>
          </div>
          <ol className="prob-bars" aria-label="Probability of each class">
            {labels.map((name, i) => {
              const p = result?.probabilities[i];
              return (
                <li key={i} data-top={result?.prediction === i}>
                  <span className="name truncate" title={names[i] ?? name}>
                    {names[i] ?? name}
                  </span>
                  <span className="track">
                    <span className="fill" style={{ width: `${((p ?? 0) * 100).toFixed(1)}%`, display: 'block' }} />
                  </span>
                  <span className="pct">{p === undefined ? '–' : `${metric(Math.round(p * 1000) / 10)}%`}</span>
                </li>
              );
            })}
          </ol>
          <div role="status" style={{ minHeight: '1.5em', marginTop: 'var(--s-3)' }} className={status.error ? 'field-error' : 'muted small'}>
            {status.text}
          </div>
          {info.error !== undefined && <Callout tone="warning" title="Model info unavailable">{info.error instanceof Error ? info.error.message : String(info.error)}</Callout>}
        </Card>
      </div>
    </>
  );
}
