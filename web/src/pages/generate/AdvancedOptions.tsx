/** The form's "Advanced" disclosure: negative prompt, seed, frames per second, frames. */
import type { VideoModel } from '../../api/types.ts';

export interface AdvancedValues {
  negative: string;
  seed: string;
  fps: string;
  frames: string;
}

export function AdvancedOptions({
  values,
  onChange,
  model,
  defaults,
  fpsValue,
  framesValue,
}: {
  values: AdvancedValues;
  onChange: (patch: Partial<AdvancedValues>) => void;
  model: VideoModel | undefined;
  defaults: { fps: number; frames: number };
  fpsValue: number;
  framesValue: number;
}) {
  const { negative, seed, fps, frames } = values;
  return (
    <details className="disclosure">
      <summary>Advanced</summary>
      <div className="disclosure-body stack-sm">
        <div className="field">
          <label htmlFor="negative">Negative prompt</label>
          <textarea
            id="negative"
            className="textarea"
            style={{ minHeight: 64 }}
            value={negative}
            placeholder="blurry, low quality, watermark, text"
            onChange={(e) => onChange({ negative: e.target.value })}
          />
        </div>
        <div className="form-grid">
          <div className="field">
            <label htmlFor="seed">Seed</label>
            <input id="seed" className="input" inputMode="numeric" placeholder="Random" value={seed} onChange={(e) => onChange({ seed: e.target.value.replace(/[^\d]/g, '') })} />
          </div>
          <div className="field">
            <label htmlFor="fps">Frames per second</label>
            <input
              id="fps"
              className="input"
              type="number"
              min={1}
              max={model?.limits.max_fps ?? 60}
              placeholder={String(defaults.fps)}
              value={fps}
              onChange={(e) => onChange({ fps: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor="frames">Frames</label>
            <input
              id="frames"
              className="input"
              type="number"
              min={1}
              max={model?.limits.max_frames}
              placeholder={String(defaults.frames)}
              value={frames}
              aria-describedby="frames-help"
              onChange={(e) => onChange({ frames: e.target.value })}
            />
          </div>
        </div>
        <span id="frames-help" className="field-help">
          {framesValue} frames at {fpsValue} fps ≈ {(framesValue / Math.max(1, fpsValue)).toFixed(1)} s of video
          {model ? ` (at most ${model.limits.max_frames} frames)` : ''}.
        </span>
      </div>
    </details>
  );
}
