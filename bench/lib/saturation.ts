/**
 * The open-loop saturation search of the batching bench: the highest rate a mode sustains, on a
 * ladder of rates ×`step` apart, from `start`. Up while a rate is sustained; down while it is
 * not, to the first that is.
 *
 * On 2 shared cores a single step fails now and then for a reason that is not the server's (another
 * process's burst): ending the climb at the first failure cut single rounds' saturations to a
 * half or a third of the next round's. So a failure counts only when a second try at the same
 * rate fails too (`retries`, default 1); a pass counts at once (noise only ever makes a step
 * fail). Both modes get the same rule, so neither is favoured.
 */
export interface LadderStep {
  rate: number;
  ok: boolean;
  /** Why a failing step failed (the criteria it missed), when the probe said. */
  why?: string;
}

/** A probe's verdict: sustained or not, and (when not) why. */
export type Verdict = boolean | { ok: boolean; why?: string };

export async function searchSaturation(
  probe: (rate: number) => Promise<Verdict>,
  opts: { start: number; step: number; maxSteps?: number; retries?: number },
): Promise<{ saturation: number; ladder: LadderStep[] }> {
  const { start, step, maxSteps = 20, retries = 1 } = opts;
  const ladder: LadderStep[] = [];
  /** Sustained at `rate`: a pass at once, a failure only when every retry fails as well. */
  const holds = async (rate: number): Promise<boolean> => {
    for (let attempt = 0; attempt <= retries; attempt++) {
      const verdict = await probe(rate);
      const ok = typeof verdict === 'boolean' ? verdict : verdict.ok;
      const why = typeof verdict === 'boolean' || ok ? undefined : verdict.why;
      ladder.push(why === undefined ? { rate, ok } : { rate, ok, why });
      if (ok) return true;
    }
    return false;
  };
  let rate = start;
  const up = await holds(rate);
  let saturation = up ? rate : 0;
  for (let i = 0; i < maxSteps; i++) {
    rate = up ? rate * step : rate / step;
    const ok = await holds(rate);
    if (ok) saturation = rate;
    if (up !== ok) break;
  }
  return { saturation, ladder };
}
