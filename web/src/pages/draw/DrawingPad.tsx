/**
 * The drawing pad: pointer events (mouse, finger, pen with pressure) on a 280×280 canvas, and
 * the drawing preprocessed like examples/mnist/index.html (lib/preprocess.ts) into the 28×28
 * image the model reads. `onImage` gets it on every pen-up, Enter or Predict (null when
 * nothing is drawn); `onClear` on Escape or Clear.
 */
import { type KeyboardEvent, type PointerEvent, useCallback, useEffect, useRef } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { Card } from '../../components/Page.tsx';
import { preprocess } from '../../lib/preprocess.ts';

export function DrawingPad({ fashion, onImage, onClear }: { fashion: boolean; onImage: (pixels: Float32Array | null) => void; onClear: () => void }) {
  const pad = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const last = useRef<{ x: number; y: number } | null>(null);

  const clear = useCallback(() => {
    const ctx = pad.current?.getContext('2d');
    if (ctx) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, 280, 280);
    }
    onClear();
  }, [onClear]);

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

  const image = () => {
    const canvas = pad.current;
    const ctx = canvas?.getContext('2d', { willReadFrequently: true });
    if (!canvas || !ctx) return;
    const src = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const gray = new Float32Array(canvas.width * canvas.height);
    for (let i = 0; i < gray.length; i++) gray[i] = src[i * 4]! / 255;
    onImage(preprocess(gray, canvas.width, canvas.height, fashion));
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
    if (e.type === 'pointerup') image();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      clear();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      image();
    }
  };

  return (
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
        <button
          type="button"
          className="btn"
          onClick={() => {
            clear();
            pad.current?.focus();
          }}
          aria-keyshortcuts="Escape"
        >
          <Icon name="x" /> Clear
        </button>
        <button type="button" className="btn btn-primary" onClick={image}>
          <Icon name="sparkles" /> Predict
        </button>
      </div>
      <p className="field-help" style={{ marginTop: 'var(--s-2)', maxWidth: 280 }}>
        {fashion
          ? 'Draw a filled silhouette (a shoe, a bag, a shirt…); it is scaled to fill 28×28.'
          : 'Draw one digit, large and centered; it is scaled to 20×20 and centered by its mass, like MNIST.'}
      </p>
    </Card>
  );
}
