/**
 * A grayscale picture drawn from a flat vector of pixel values (an MNIST row is 784 floats
 * in [0, 1]; 0–255 data is scaled). Square vectors only: side = √length.
 */
import { useEffect, useRef } from 'react';

export const squareSide = (n: number): number | null => {
  const side = Math.round(Math.sqrt(n));
  return side > 1 && side * side === n ? side : null;
};

export function PixelImage({ values, label, className = 'pixel-cell' }: { values: ArrayLike<number>; label: string; className?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const side = squareSide(values.length) ?? 28;
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    let max = 0;
    for (let i = 0; i < values.length; i++) max = Math.max(max, Number(values[i]));
    const scale = max > 1.0001 ? 1 / 255 : 1;
    const img = ctx.createImageData(side, side);
    for (let i = 0; i < side * side; i++) {
      const v = Math.round(Math.min(1, Math.max(0, Number(values[i] ?? 0) * scale)) * 255);
      img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = v;
      img.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [values, side]);
  return <canvas ref={ref} className={className} width={side} height={side} role="img" aria-label={label} />;
}
