/**
 * Draw: the MNIST drawing page. A drawing goes to a deployment serving an image model
 * (`POST /api/v1/deployments/{name}/predict {"image": […]}`; several: pick one), or, when none
 * is deployed, to a running `mnist_serve` service task through the platform's proxy. With a
 * streaming deployment (a model with state bindings, the GRU of mnist_rnn.py) the drawing is
 * also streamed row by row through a session and the running guess is shown per row.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, request } from '../api/client.ts';
import { type Deployment, type ImagePrediction, serving, streamsRows, takesImage } from '../api/serving.ts';
import type { ServiceInfo } from '../api/types.ts';
import { Card, Page } from '../components/Page.tsx';
import { Callout, EmptyState, ErrorState, SkeletonBlock } from '../components/States.tsx';
import { useResource } from '../hooks/useResource.ts';
import { metric } from '../lib/format.ts';
import { DIGITS, isFashion } from '../lib/preprocess.ts';
import { Link, setQuery, useLocation } from '../router.tsx';
import { DrawingPad } from './draw/DrawingPad.tsx';
import { ModelKnows } from './draw/ModelKnows.tsx';
import { SessionDemo } from './draw/SessionDemo.tsx';
import { type DrawTarget, deploymentTarget, modelInfo, pickService, type ServedModelInfo, serviceTarget, usable } from './draw/targets.ts';

export function DrawPage() {
  const deployments = useResource(async (signal) => (await serving.deployments(signal).catch(() => ({ items: [] as Deployment[] }))).items, 'deployments');
  const services = useResource((signal) => api.services(signal), 'services');
  const { search } = useLocation();
  const all = deployments.data ?? [];
  const images = all.filter((d) => takesImage(d) && usable(d));
  const streams = all.filter((d) => streamsRows(d) && usable(d));
  const deployment = images.find((d) => d.name === search.get('deployment')) ?? images[0];
  const stream = streams.find((d) => d.name === search.get('session')) ?? streams[0];
  const service = services.data ? pickService(services.data.services) : undefined;
  const serviceReady = service?.state === 'ready';
  const found = deployment !== undefined || stream !== undefined || serviceReady;

  // Until something can answer, look again every few seconds (the demo may be starting it).
  const { reload: reloadDeployments } = deployments;
  const { reload: reloadServices } = services;
  useEffect(() => {
    if (found) return;
    const t = setInterval(() => {
      reloadDeployments();
      reloadServices();
    }, 3000);
    return () => clearInterval(t);
  }, [found, reloadDeployments, reloadServices]);

  const loaded = deployments.data !== undefined && (services.data !== undefined || services.error !== undefined);
  return (
    <Page title="Draw" subtitle="Draw something, and the served model says which of the classes it was trained on your drawing looks like.">
      {!loaded ? (
        <div className="card card-body">
          <SkeletonBlock lines={3} />
        </div>
      ) : found ? (
        <>
          {images.length > 1 && <Picker label="Deployment" param="deployment" items={images} value={deployment!.name} />}
          {streams.length > 1 && <Picker label="Session deployment" param="session" items={streams} value={stream!.name} />}
          <DrawingBoard
            key={`${deployment?.name}:${stream?.name}`}
            target={deployment ? deploymentTarget(deployment) : serviceReady ? serviceTarget(service!) : null}
            source={deployment ? { deployment } : serviceReady ? { service: service! } : stream ? { deployment: stream } : null}
            stream={stream ?? null}
          />
        </>
      ) : services.error !== undefined ? (
        <div className="card">
          <ErrorState error={services.error} onRetry={reloadServices} what="the services" />
        </div>
      ) : service ? (
        <div className="card">
          <EmptyState icon="refresh" title={`The model service is ${service.state}…`}>
            <p>
              Task <Link to={`/tasks/${encodeURIComponent(service.task_id)}`}>{service.task_id}</Link> is starting its HTTP server. This page connects as soon as it is healthy.
            </p>
          </EmptyState>
        </div>
      ) : (
        <div className="card">
          <EmptyState icon="pen" title="No MNIST model is serving yet">
            <MissingData />
            <p>
              Deploy an MNIST classifier of the lake on the <Link to="/deployments">Deployments</Link> page, or train the demo model (a Fashion-MNIST classifier: 10 kinds of clothing) and serve it with one command; this page finds it on its own.
            </p>
            <code className="cmd">npx lakeray demo mnist</code>
          </EmptyState>
        </div>
      )}
    </Page>
  );
}

function Picker({ label, param, items, value }: { label: string; param: string; items: Deployment[]; value: string }) {
  return (
    <div className="field" style={{ maxWidth: 360, marginBottom: 'var(--s-4)' }}>
      <label htmlFor={`pick-${param}`}>{label}</label>
      <select id={`pick-${param}`} className="select" value={value} onChange={(e) => setQuery({ [param]: e.target.value })}>
        {items.map((d) => (
          <option key={d.name} value={d.name}>
            {d.name} ({d.model}@{d.model_version})
          </option>
        ))}
      </select>
    </div>
  );
}

/** One line when the last MNIST ingestion found no Fashion-MNIST files: the script's message names the fix. */
function MissingData() {
  const last = useResource(async (signal) => (await api.tasks({ name: 'mnist_ingestion', limit: 1 }, signal)).tasks[0], 'mnist_ingestion');
  const error = last.data?.status === 'failed' ? last.data.error : null;
  if (error?.code !== 'INPUT_NOT_FOUND') return null;
  return <Callout tone="warning">{error.message}</Callout>;
}

function DrawingBoard({ target, source, stream }: { target: DrawTarget | null; source: { deployment: Deployment } | { service: ServiceInfo } | null; stream: Deployment | null }) {
  const info = useResource<ServedModelInfo>((signal) => (source ? modelInfo(source, signal) : Promise.resolve({})), target?.key ?? stream?.name ?? 'none');
  const labels = info.data?.labels?.length ? info.data.labels : DIGITS;
  const fashion = isFashion(labels);
  const preview = useRef<HTMLCanvasElement>(null);
  const inFlight = useRef<AbortController | null>(null);
  const [pixels, setPixels] = useState<Float32Array | null>(null);
  const [result, setResult] = useState<ImagePrediction | null>(null);
  const [status, setStatus] = useState<{ text: string; error?: boolean }>({ text: '' });

  useEffect(() => {
    const ctx = preview.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round((pixels?.[i] ?? 0) * 255);
      img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = v;
      img.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [pixels]);

  const onClear = useCallback(() => {
    inFlight.current?.abort();
    setPixels(null);
    setResult(null);
    setStatus({ text: '' });
  }, []);

  const onImage = async (image: Float32Array | null) => {
    if (!image) {
      setStatus({ text: 'Draw something first.' });
      return;
    }
    setPixels(image);
    if (!target) return;
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setStatus({ text: 'Predicting…' });
    try {
      const body = await request<ImagePrediction>(target.predictUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: Array.from(image, (v) => Math.round(v * 1e4) / 1e4) }),
        signal: controller.signal,
      });
      setResult(body);
      setStatus({ text: '' });
    } catch (err) {
      if (controller.signal.aborted) return;
      setStatus({ text: `Prediction failed: ${err instanceof Error ? err.message : String(err)}`, error: true });
    }
  };

  const names = result?.label_names && result.label_names.length === result.probabilities.length ? result.label_names.map(String) : labels;
  const kind = fashion ? 'fashion' : labels.every((l, i) => l === DIGITS[i]) && labels.length === DIGITS.length ? 'digits' : 'other';
  const servedBy = target?.servedBy ?? (stream ? { kind: 'deployment' as const, name: stream.name } : null);
  return (
    <div className="stack">
      {info.data?.labels?.length && servedBy ? (
        <ModelKnows labels={labels} kind={kind} model={{ name: info.data.model, version: info.data.version, accuracy: info.data.accuracy, servedBy }} />
      ) : (
        info.loading && <SkeletonBlock lines={2} />
      )}
      <div className="draw-layout">
        <DrawingPad fashion={fashion} onImage={(p) => void onImage(p)} onClear={onClear} />
        <Card title="Prediction" hint={target?.servedBy.kind === 'deployment' ? `through deployment ${target.servedBy.name}` : undefined}>
          <div className="row" style={{ gap: 'var(--s-5)', marginBottom: 'var(--s-4)', flexWrap: 'nowrap' }}>
            <canvas ref={preview} className="pad-preview" width={28} height={28} role="img" aria-label="The 28 by 28 image sent to the model" />
            <div>
              <div className="prediction" aria-live="polite" data-testid="prediction">
                {result ? (names[result.prediction] ?? String(result.prediction)) : '—'}
              </div>
              <div className="muted">{result ? `${(result.confidence * 100).toFixed(1)}% confident` : target ? 'Draw to see a guess' : 'Only the streaming model below is deployed'}</div>
            </div>
          </div>
          {target && (
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
          )}
          <div role="status" style={{ minHeight: '1.5em', marginTop: 'var(--s-3)' }} className={status.error ? 'field-error' : 'muted small'}>
            {status.text}
          </div>
          {info.error !== undefined && <Callout tone="warning" title="Model info unavailable">{info.error instanceof Error ? info.error.message : String(info.error)}</Callout>}
        </Card>
      </div>
      {stream && <SessionDemo deployment={stream} pixels={pixels} labels={labels} />}
    </div>
  );
}
