/**
 * The optional start image: drop a file on the zone, or click it (or focus it and press
 * Enter/Space: it is a real file input) to pick one. The image is previewed at once and
 * uploaded to /api/v1/uploads right away, so Generate only has to send its id.
 */
import { type DragEvent, useEffect, useRef, useState } from 'react';
import { ApiError, api, isAbort } from '../../api/client.ts';
import type { Upload } from '../../api/types.ts';
import { Icon } from '../../components/Icon.tsx';
import { bytes } from '../../lib/format.ts';

const MAX_BYTES = 20 * 1024 * 1024;

export interface ImageState {
  file: File;
  preview: string;
  upload: Upload | null;
  uploading: boolean;
  error: string | null;
}

export function ImageDrop({ value, onChange }: { value: ImageState | null; onChange: (v: ImageState | null) => void }) {
  const [over, setOver] = useState(false);
  const [rejected, setRejected] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const latest = useRef(value);
  latest.current = value;

  useEffect(() => () => controller.current?.abort(), []);

  const accept = (file: File | undefined) => {
    setRejected(null);
    if (!file) return;
    if (!file.type.startsWith('image/')) return setRejected(`${file.name} is not an image (PNG, JPEG or WebP).`);
    if (file.size > MAX_BYTES) return setRejected(`${file.name} is ${bytes(file.size)}; the limit is ${bytes(MAX_BYTES)}.`);
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    if (latest.current) URL.revokeObjectURL(latest.current.preview);
    const state: ImageState = { file, preview: URL.createObjectURL(file), upload: null, uploading: true, error: null };
    onChange(state);
    api.upload(file, c.signal).then(
      (upload) => !c.signal.aborted && onChange({ ...state, upload, uploading: false }),
      (err: unknown) => {
        if (c.signal.aborted || isAbort(err)) return;
        const message =
          err instanceof ApiError && (err.status === 404 || err.status === 405)
            ? 'Image upload is not available on this server yet.'
            : err instanceof Error
              ? err.message
              : String(err);
        onChange({ ...state, uploading: false, error: message });
      },
    );
  };

  const remove = () => {
    controller.current?.abort();
    if (value) URL.revokeObjectURL(value.preview);
    onChange(null);
    setRejected(null);
    requestAnimationFrame(() => input.current?.focus());
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    accept(e.dataTransfer.files[0]);
  };

  if (value) {
    return (
      <div className="image-chip">
        <img src={value.preview} alt="Start image preview" />
        <div className="meta">
          <div className="truncate" style={{ fontWeight: 600 }}>
            {value.file.name}
          </div>
          <div className="muted small" role="status" aria-live="polite">
            {bytes(value.file.size)} ·{' '}
            {value.uploading ? 'Uploading…' : value.error ? <span style={{ color: 'var(--c-danger)' }}>{value.error}</span> : 'Uploaded'}
          </div>
        </div>
        <button type="button" className="btn btn-ghost btn-sm" onClick={remove} aria-label={`Remove image ${value.file.name}`}>
          <Icon name="x" /> Remove
        </button>
      </div>
    );
  }

  return (
    <div>
      <div
        className="dropzone"
        data-over={over}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <div className="dropzone-icon">
          <Icon name="image" />
        </div>
        <div>
          <strong>Drop an image</strong> or click to choose
          <div className="muted small">Optional start frame · PNG, JPEG or WebP up to {bytes(MAX_BYTES)}</div>
        </div>
        <input
          ref={input}
          type="file"
          accept="image/*"
          aria-label="Start image (optional): drop a file or press Enter to choose one"
          onChange={(e) => {
            accept(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
      </div>
      {rejected && (
        <p className="field-error" role="alert" style={{ marginTop: 'var(--s-1)' }}>
          {rejected}
        </p>
      )}
    </div>
  );
}
