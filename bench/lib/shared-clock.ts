/**
 * One clock for both ends of a latency that starts in Node and ends in a Python process.
 *
 * On Linux, Node's process.hrtime.bigint() is libuv's uv_hrtime, clock_gettime(CLOCK_MONOTONIC),
 * and Python's time.monotonic_ns() is clock_gettime(CLOCK_MONOTONIC) too: one system-wide
 * clock, so a time read in one process can be subtracted from a time read in the other. (Wall
 * clocks — Date.now(), time.time(), performance.timeOrigin + performance.now() — are not that:
 * they step and slew with NTP, and timeOrigin is fixed at process start.) `checkSharedClock`
 * verifies it rather than trusting it: it brackets the other process's reading between two of
 * ours, many times; every reading must fall inside its bracket.
 */
export const monotonicNs = (): bigint => process.hrtime.bigint();

export interface ClockCheck {
  /** How many readings were bracketed; all of them fell inside their bracket. */
  samples: number;
  /** The narrowest bracket (ms): the check's resolution. */
  min_bracket_ms: number;
  /** The widest bracket (ms). */
  max_bracket_ms: number;
}

/** `readOther` asks the other process for its CLOCK_MONOTONIC reading in ns. Throws if the clocks disagree. */
export async function checkSharedClock(readOther: () => Promise<bigint>, samples = 50): Promise<ClockCheck> {
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < samples; i++) {
    const before = monotonicNs();
    const theirs = await readOther();
    const after = monotonicNs();
    if (theirs < before || theirs > after) {
      throw new Error(`the other process's clock is not CLOCK_MONOTONIC as ours: it read ${theirs} between our ${before} and ${after}`);
    }
    const ms = Number(after - before) / 1e6;
    min = Math.min(min, ms);
    max = Math.max(max, ms);
  }
  return { samples, min_bracket_ms: min, max_bracket_ms: max };
}
