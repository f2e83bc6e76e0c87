/**
 * The Draw page's preprocessing (web/src/lib/preprocess.ts) must turn a drawing into exactly
 * the 28×28 input the MNIST service's own page (examples/mnist/index.html) sends: both are run
 * on the same drawings and compared value for value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/main.ts';
import { preprocess } from '../../web/src/lib/preprocess.ts';

type Preprocess = (gray: Float32Array, w: number, h: number, fashion: boolean) => Float32Array | null;

const html = readFileSync(join(PACKAGE_ROOT, 'examples/mnist/index.html'), 'utf8');
const source = html.split('// <preprocess>')[1]!.split('\n').slice(1).join('\n').split('// </preprocess>')[0]!;
const original = new Function(`${source}; return preprocess;`)() as Preprocess;

const W = 280;

/** Deterministic strokes: thick random line segments, white on black, with soft edges. */
function drawing(seed: number): Float32Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const g = new Float32Array(W * W);
  const segments = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < segments; k++) {
    const [x0, y0, x1, y1] = [rand() * W, rand() * W, rand() * W, rand() * W];
    const r = 6 + rand() * 14;
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) {
        const t = Math.max(0, Math.min(1, ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2 || 1)));
        const d = Math.hypot(x - (x0 + t * (x1 - x0)), y - (y0 + t * (y1 - y0)));
        g[y * W + x] = Math.max(g[y * W + x]!, Math.min(1, Math.max(0, (r - d) / 2)));
      }
    }
  }
  return g;
}

describe("the Draw page's preprocessing", () => {
  it('matches examples/mnist/index.html exactly, for digits and Fashion-MNIST', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const g = drawing(seed);
      for (const fashion of [false, true]) {
        const ours = preprocess(g, W, W, fashion);
        const theirs = original(g, W, W, fashion);
        expect(ours).not.toBeNull();
        expect(Array.from(ours!)).toEqual(Array.from(theirs!));
      }
    }
  });

  it('says null for an empty drawing, like the original', () => {
    expect(preprocess(new Float32Array(W * W), W, W, false)).toBeNull();
    expect(original(new Float32Array(W * W), W, W, false)).toBeNull();
  });
});
