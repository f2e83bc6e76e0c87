/**
 * The MNIST drawing page's preprocessing (examples/mnist/index.html, between its
 * `// <preprocess>` markers), typed. test/e2e/preprocess.test.ts runs both on the same
 * drawings and requires identical output, so the Draw page feeds the model exactly what the
 * service's own page does.
 *
 * A drawing (gray values in [0, 1], white on black, W×H) as the 28×28 input the model was
 * trained on, or null when nothing is drawn.
 * Digits (MNIST): crop to the ink's bounding box, scale to fit 20×20 keeping the aspect
 * ratio, then place in 28×28 so the center of mass is at the center.
 * Fashion-MNIST: its images fill the frame, so fit 28×28 and center the bounding box.
 */
export function preprocess(gray: ArrayLike<number>, W: number, H: number, fashion: boolean): Float32Array | null {
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if ((gray[y * W + x] as number) > 0.05) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null; // nothing drawn
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const box = fashion ? 28 : 20;
  const scale = box / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  // Area-average downsampling: every source pixel adds to the target cell it falls in.
  const small = new Float32Array(tw * th);
  const weight = new Float32Array(tw * th);
  for (let y = y0; y <= y1; y++) {
    const ty = Math.min(th - 1, Math.floor(((y - y0) * th) / bh));
    for (let x = x0; x <= x1; x++) {
      const tx = Math.min(tw - 1, Math.floor(((x - x0) * tw) / bw));
      small[ty * tw + tx]! += gray[y * W + x] as number;
      weight[ty * tw + tx]! += 1;
    }
  }
  for (let i = 0; i < small.length; i++) small[i] = weight[i] ? small[i]! / weight[i]! : 0;
  // Center: the box in the middle, or (digits) the center of mass at (14, 14).
  let ox = (28 - tw) / 2;
  let oy = (28 - th) / 2;
  if (!fashion) {
    let m = 0;
    let mx = 0;
    let my = 0;
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const v = small[y * tw + x]!;
        m += v;
        mx += v * (x + 0.5);
        my += v * (y + 0.5);
      }
    }
    if (m > 0) {
      ox = 14 - mx / m;
      oy = 14 - my / m;
    }
  }
  ox = Math.round(ox);
  oy = Math.round(oy);
  const out = new Float32Array(28 * 28);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const X = x + ox;
      const Y = y + oy;
      if (X >= 0 && X < 28 && Y >= 0 && Y < 28) out[Y * 28 + X] = Math.min(1, Math.max(0, small[y * tw + x]!));
    }
  }
  return out;
}

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const isFashion = (names: string[]): boolean => names.length === FASHION_CLASSES.length && names.every((n, i) => n === FASHION_CLASSES[i]);
