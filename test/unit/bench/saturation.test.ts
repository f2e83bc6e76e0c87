/**
 * The batching bench's open-loop saturation search (bench/lib/saturation.ts): up while sustained,
 * down while not, and a failing step counts only when its retry fails too.
 */
import { describe, expect, it } from 'vitest';
import { searchSaturation } from '../../../bench/lib/saturation.ts';

/** A server that sustains up to `capacity`, failing the attempts listed in `flukes` (by number) whatever the rate. */
const server = (capacity: number, flukes: number[] = []) => {
  let attempt = 0;
  return async (rate: number): Promise<boolean> => {
    attempt++;
    return rate <= capacity && !flukes.includes(attempt);
  };
};

describe('searchSaturation', () => {
  it('climbs from a sustained start to the last sustained rung', async () => {
    const { saturation, ladder } = await searchSaturation(server(450), { start: 100, step: 2 });
    expect(saturation).toBe(400);
    // 100, 200, 400 pass; 800 fails twice (the retry confirms it).
    expect(ladder).toEqual([{ rate: 100, ok: true }, { rate: 200, ok: true }, { rate: 400, ok: true }, { rate: 800, ok: false }, { rate: 800, ok: false }]);
  });

  it('steps down from a start the server does not sustain to the first rung it does', async () => {
    const { saturation } = await searchSaturation(server(130), { start: 1000, step: 2 });
    expect(saturation).toBe(125);
  });

  it('does not end the climb at a single failing step (a fluke): its retry decides', async () => {
    // The second attempt (rate 200) fails once for no reason of the server's.
    const { saturation, ladder } = await searchSaturation(server(450, [2]), { start: 100, step: 2 });
    expect(saturation).toBe(400);
    expect(ladder.slice(0, 3)).toEqual([{ rate: 100, ok: true }, { rate: 200, ok: false }, { rate: 200, ok: true }]);
    // Without retries the fluke ends it at 100, a quarter of the capacity.
    expect((await searchSaturation(server(450, [2]), { start: 100, step: 2, retries: 0 })).saturation).toBe(100);
  });

  it("keeps a failing step's reason in the ladder, so a report can tell the budget from the backlog", async () => {
    const probe = async (rate: number) => (rate <= 200 ? true : { ok: false, why: `p95 over budget at ${rate}` });
    const { saturation, ladder } = await searchSaturation(probe, { start: 100, step: 2 });
    expect(saturation).toBe(200);
    expect(ladder).toEqual([{ rate: 100, ok: true }, { rate: 200, ok: true }, { rate: 400, ok: false, why: 'p95 over budget at 400' }, { rate: 400, ok: false, why: 'p95 over budget at 400' }]);
  });

  it('gives 0 when no rung down to maxSteps is sustained', async () => {
    expect((await searchSaturation(server(0), { start: 100, step: 2, maxSteps: 3 })).saturation).toBe(0);
  });
});
