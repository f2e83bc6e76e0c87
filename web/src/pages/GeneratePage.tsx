/**
 * Generate (home): prompt → Generate → "Queued" at once with the live queue position, then a
 * live progress bar, then the video. The selected generation lives in the URL
 * (`/?generation=<task_id>`), so a reload or a shared link shows the same one.
 */
import { type FormEvent, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, api } from '../api/client.ts';
import { type Generation, type GenerationRequest, isFinished } from '../api/types.ts';
import { Icon } from '../components/Icon.tsx';
import { Card, Page } from '../components/Page.tsx';
import { Callout } from '../components/States.tsx';
import { useGeneration } from '../hooks/useGeneration.ts';
import { useResource } from '../hooks/useResource.ts';
import { setQuery, useLocation } from '../router.tsx';
import { AdvancedOptions, type AdvancedValues } from './generate/AdvancedOptions.tsx';
import { ImageDrop, type ImageState } from './generate/ImageDrop.tsx';
import { defaultsOf, intOrUndefined, MAX_PROMPT, sizeLabel, sizesFor } from './generate/options.ts';
import { Recent } from './generate/Recent.tsx';
import { revealStage } from './generate/reveal.ts';
import { Stage } from './generate/Stage.tsx';

export function GeneratePage() {
  const { search } = useLocation();
  const selectedId = search.get('generation');

  const models = useResource((signal) => api.videoModels(signal), 'video-models');
  const backendMissing = models.error instanceof ApiError && (models.error.status === 404 || models.error.status === 405);
  const recent = useResource((signal) => api.generations(12, signal), 'video-generations');

  const [prompt, setPrompt] = useState('');
  const [advanced, setAdvanced] = useState<AdvancedValues>({ negative: '', seed: '', fps: '', frames: '' });
  const { negative, seed, fps, frames } = advanced;
  const [modelId, setModelId] = useState('');
  const [size, setSize] = useState('');
  const [image, setImage] = useState<ImageState | null>(null);
  const [promptError, setPromptError] = useState<string | null>(null);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [seeded, setSeeded] = useState<Generation | null>(null);
  const promptRef = useRef<HTMLTextAreaElement>(null);
  const stageRef = useRef<HTMLDivElement>(null);

  const modelList = models.data?.models ?? [];
  const model = modelList.find((m) => m.id === modelId) ?? modelList.find((m) => m.available) ?? modelList[0];
  const sizes = useMemo(() => sizesFor(model), [model]);
  const defaults = defaultsOf(model);
  const effectiveSize = size && sizes.includes(size) ? size : defaults.size;
  const fpsValue = intOrUndefined(fps) ?? defaults.fps;
  const framesValue = intOrUndefined(frames) ?? defaults.frames;

  const initial = useMemo(() => {
    if (!selectedId) return null;
    if (seeded?.task_id === selectedId) return seeded;
    return recent.data?.find((g) => g.task_id === selectedId) ?? null;
  }, [selectedId, seeded, recent.data]);
  const view = useGeneration(selectedId, initial);
  const current = view.gen;

  // A new generation is brought into view when it shows, and again when it starts (it grows);
  // after that the person may scroll where they like.
  const [revealing, setRevealing] = useState<string | null>(null);
  const shownStatus = current?.task_id === revealing ? current.status : null;
  useEffect(() => {
    if (!shownStatus) return;
    const frame = requestAnimationFrame(() => revealStage(stageRef.current));
    if (shownStatus !== 'QUEUED') setRevealing(null);
    return () => cancelAnimationFrame(frame);
  }, [shownStatus]);

  // When the watched generation finishes, the gallery gets its cover.
  const finishedStatus = current && isFinished(current.status) ? current.status : null;
  const reloadRecent = recent.reload;
  useEffect(() => {
    if (finishedStatus) reloadRecent();
  }, [finishedStatus, reloadRecent]);

  // While any listed generation is still going, refresh the gallery now and then.
  const anyActive = recent.data?.some((g) => !isFinished(g.status) && g.task_id !== selectedId) ?? false;
  useEffect(() => {
    if (!anyActive) return;
    const t = setInterval(reloadRecent, 3000);
    return () => clearInterval(t);
  }, [anyActive, reloadRecent]);

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (submitting) return;
    setSubmitError(null);
    if (!prompt.trim()) {
      setPromptError('Describe the video you want first.');
      promptRef.current?.focus();
      return;
    }
    if (backendMissing) {
      setSubmitError('Video generation is not available on this server: GET /v1/video/models answered 404.');
      return;
    }
    if (image?.uploading) {
      setSubmitError('The image is still uploading; press Generate again in a moment.');
      return;
    }
    if (image?.error) {
      setSubmitError('The image could not be uploaded. Remove it or choose another.');
      return;
    }
    const body: GenerationRequest = { prompt: prompt.trim(), size: effectiveSize };
    if (model) body.model = model.id;
    if (negative.trim()) body.negative_prompt = negative.trim();
    if (image?.upload) body.image = image.upload.id;
    const seedValue = intOrUndefined(seed);
    if (seedValue !== undefined) body.seed = seedValue;
    if (intOrUndefined(fps) !== undefined) body.fps = fpsValue;
    if (intOrUndefined(frames) !== undefined) body.num_frames = framesValue;
    setSubmitting(true);
    try {
      const res = await api.generate(body);
      const now = new Date().toISOString();
      // Shown at once, before the first poll answers.
      setSeeded({
        task_id: res.task_id,
        model: body.model ?? '',
        status: 'QUEUED',
        progress: 0,
        queue_position: res.queue_position ?? null,
        eta_seconds: null,
        result: null,
        error: null,
        created_at: now,
        started_at: null,
        finished_at: null,
        prompt: body.prompt,
        size: effectiveSize,
      });
      setQuery({ generation: res.task_id }, { push: true });
      recent.reload();
      setRevealing(res.task_id);
    } catch (err) {
      setSubmitError(
        err instanceof ApiError && err.status === 404
          ? 'Video generation is not available on this server yet.'
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setSubmitting(false);
    }
  };

  const cancel = async () => {
    if (!current) return;
    setCancelling(true);
    try {
      await api.cancelGeneration(current.task_id);
    } catch (err) {
      setSubmitError(`Could not cancel: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setCancelling(false);
    }
  };

  const select = (g: Generation) => {
    setSeeded(g);
    setQuery({ generation: g.task_id }, { push: true });
  };

  return (
    <Page
      title={
        <span className="hero-title">
          Turn words into <span className="grad">video</span>
        </span>
      }
      docTitle="Generate"
      subtitle="Describe a scene and Lakeray renders it on the GPU pool — queued, scheduled and streamed back to you live."
    >
      {backendMissing && (
        <Callout tone="warning" title="Video generation is not enabled on this server">
          <code>GET /v1/video/models</code> answered 404, so this server has no video backend yet. Everything else (tasks, datasets, models) works.
        </Callout>
      )}
      {models.error !== undefined && !backendMissing && (
        <Callout tone="danger" title="Could not load the video models">
          {models.error instanceof Error ? models.error.message : String(models.error)}
        </Callout>
      )}

      <div className="gen-layout">
        <form className="card gen-form" onSubmit={(e) => void submit(e)} aria-label="New video" noValidate>
          <div className="field">
            <label htmlFor="prompt">Prompt</label>
            <div className="prompt-box">
              <textarea
                id="prompt"
                ref={promptRef}
                className="textarea"
                value={prompt}
                maxLength={MAX_PROMPT}
                placeholder="A cinematic shot of an astronaut walking across red Martian dunes at sunset, dust drifting in the wind"
                aria-invalid={promptError ? true : undefined}
                aria-describedby={`prompt-help${promptError ? ' prompt-error' : ''}`}
                onChange={(e) => {
                  setPrompt(e.target.value);
                  if (promptError) setPromptError(null);
                }}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) {
                    e.preventDefault();
                    void submit();
                  }
                }}
              />
              <span className="prompt-count" aria-hidden="true">
                {prompt.length}/{MAX_PROMPT}
              </span>
            </div>
            <span id="prompt-help" className="field-help">
              Subject, action, setting, camera and light work best. <kbd>Ctrl</kbd>+<kbd>Enter</kbd> generates.
            </span>
            {promptError && (
              <span id="prompt-error" className="field-error" role="alert">
                {promptError}
              </span>
            )}
          </div>

          <div className="field">
            <span className="field-label">Start image</span>
            <ImageDrop value={image} onChange={setImage} />
          </div>

          <div className="form-choices">
            <div className="field">
              <label htmlFor="model">Model</label>
              <select id="model" className="select" value={model?.id ?? ''} onChange={(e) => setModelId(e.target.value)} disabled={modelList.length === 0}>
                {modelList.length === 0 && <option value="">{models.loading ? 'Loading…' : 'Default'}</option>}
                {modelList.map((m) => (
                  <option key={m.id} value={m.id} disabled={!m.available}>
                    {m.name}
                    {m.available ? '' : ` (unavailable${m.unavailable_reason ? `: ${m.unavailable_reason}` : ''})`}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="size">Size</label>
              <select id="size" className="select" value={effectiveSize} onChange={(e) => setSize(e.target.value)}>
                {sizes.map((s) => (
                  <option key={s} value={s}>
                    {sizeLabel(s)}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {model?.description && <p className="field-help">{model.description}</p>}
          {model && !model.available && (
            <Callout tone="warning" title={`${model.name} is unavailable`}>
              {model.unavailable_reason ?? 'This model cannot run on this server right now.'}
            </Callout>
          )}

          <AdvancedOptions
            values={advanced}
            onChange={(patch) => setAdvanced((a) => ({ ...a, ...patch }))}
            model={model}
            defaults={defaults}
            fpsValue={fpsValue}
            framesValue={framesValue}
          />

          {submitError && (
            <Callout tone="danger" title="Not submitted">
              {submitError}
            </Callout>
          )}

          <div className="gen-actions">
            <button type="submit" className="btn btn-primary btn-lg" aria-disabled={submitting || backendMissing ? true : undefined} data-testid="generate">
              <Icon name="sparkles" />
              {submitting ? 'Submitting…' : 'Generate'}
            </button>
          </div>
        </form>

        <div ref={stageRef} className="gen-stage">
          <Stage view={view} onCancel={() => void cancel()} cancelling={cancelling} />
        </div>
      </div>

      <Card title="Recent generations" hint="Your latest videos; pick one to watch it again.">
        {recent.error instanceof ApiError && recent.error.status === 404 ? (
          <p className="muted small">Generations will be listed here once video generation is enabled on this server.</p>
        ) : (
          <Recent items={recent.data?.map((g) => (current && g.task_id === current.task_id ? current : g))} loading={recent.loading} selected={selectedId} onSelect={select} />
        )}
      </Card>
    </Page>
  );
}
