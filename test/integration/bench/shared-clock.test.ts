// bench/dispatch.ts subtracts a time read by Python (time.monotonic_ns) from one read by Node
// (process.hrtime.bigint): these tests check that the two are one clock here, and that the
// bench's check would catch a script reading another clock (the wall clock it used to read).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLineChild, type LineChild } from '../../../bench/lib/line-child.ts';
import { checkSharedClock } from '../../../bench/lib/shared-clock.ts';
import { PYTHON } from '../executor/helpers.ts';

const READER = `
import json, sys, time
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    clock = json.loads(line)["clock"]
    ns = time.monotonic_ns() if clock == "monotonic" else time.time_ns()
    print(json.dumps({"ns": str(ns)}), flush=True)
`;

describe('bench: one clock for Node and Python', () => {
  let python: LineChild;
  beforeAll(async () => {
    python = await startLineChild(PYTHON, ['-c', READER]);
  });
  afterAll(() => python.close());
  const read = (clock: string) => async () => BigInt((await python.ask<{ ns: string }>({ clock })).ns);

  it("Python's time.monotonic_ns() reads the clock of Node's process.hrtime.bigint()", async () => {
    const check = await checkSharedClock(read('monotonic'), 20);
    expect(check.samples).toBe(20);
    expect(check.min_bracket_ms).toBeGreaterThan(0);
  });

  it("rejects a reading from another clock (Python's wall clock)", async () => {
    await expect(checkSharedClock(read('wall'), 5)).rejects.toThrow(/not CLOCK_MONOTONIC/);
  });
});
