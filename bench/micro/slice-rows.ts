/**
 * Micro benchmark of the gateway's answer slicing (src/serving/gateway/tensor-rows.ts
 * `sliceRows`) on the sessions workload's shapes: is cutting a batch's outputs per session
 * with `subarray` views instead of copies worth it, in time and in memory kept alive?
 *
 *   node --max-semi-space-size=64 --import tsx bench/micro/slice-rows.ts
 *
 * The batch: MICRO_BATCH (64) sessions of the GRU (test/fixtures/serving/gru_rows.onnx: outputs
 * logits [B, 10] and the state hn [B, 64], float32), decoded from a real replica frame
 * (runtimes/serving/protocol.mjs), so each tensor views the frame's buffer as the gateway's do.
 * Per round, MICRO_ITERS (2,000) batches of each variant; MICRO_ROUNDS (15) rounds, the variants
 * alternating. MICRO_VARIANTS (a comma list; default all) runs some only: the variants share the
 * timing loop's call sites, so one process per variant measures each without the others' JIT
 * feedback (the numbers move by 2× between the two ways; compare within one way).
 * - copy: sliceRows as the gateway runs it (a copy per tensor per slice).
 * - lean: the same copies without Object.entries or spread shapes.
 * - view: `subarray` views into the batch's buffer instead of copies.
 * - view_keep_copy: views, and the state the session keeps copied (hn): memory-safe views.
 * - cut: the answer of one batch cut into B parts (what gateway/flights.ts does per batch).
 * - cycle: cut, then the B states stacked again as the next batch's input (concatRows), as a
 *   wave of session chunks does.
 * - memory: bytes of ArrayBuffers the kept states hold alive, in the worst case (each session
 *   idle after a different batch, so each pins a batch of its own) and in lockstep waves.
 * Noisy on a shared machine: the load average is printed before and after. The last output
 * line is one JSON object with every number.
 */
import os from 'node:os';
import { decodeFrame, encodeFrame } from '../../runtimes/serving/protocol.mjs';
import { concatRows, sliceRows } from '../../src/serving/gateway/tensor-rows.ts';
import type { Tensor, TensorMap } from '../../src/serving/types.ts';

const BATCH = Number(process.env.MICRO_BATCH ?? 64);
const ITERS = Number(process.env.MICRO_ITERS ?? 2_000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 15);
const HIDDEN = 64;
const CLASSES = 10;

type Cut = typeof sliceRows;

/**
 * sliceRows without Object.entries or spread shapes; `view`: `subarray` views into the batch's
 * buffer instead of copies (the candidate).
 */
const leanCut =
  (view: boolean): Cut =>
  (map, start, count) => {
    const out: TensorMap = {};
    for (const name in map) {
      const t = map[name]!;
      const shape = t.shape.slice();
      shape[0] = count;
      let w = 1;
      for (let i = 1; i < shape.length; i++) w *= shape[i]!;
      const data = view ? t.data.subarray(start * w, (start + count) * w) : t.data.slice(start * w, (start + count) * w);
      out[name] = { dtype: t.dtype, shape, data } as Tensor;
    }
    return out;
  };
const viewRows = leanCut(true);
const leanRows = leanCut(false);

/**
 * The memory-safe middle way: views from the gateway, and the session copies the state it keeps
 * (so a kept state holds only its own bytes); the visible outputs are sent and dropped.
 */
function viewKeepCopy(map: TensorMap, start: number, count: number): TensorMap {
  const out = viewRows(map, start, count);
  const hn = out.hn!;
  out.hn = { ...hn, data: hn.data.slice() } as Tensor;
  return out;
}

const filled = (n: number, seed: number): Float32Array => new Float32Array(n).map((_, i) => Math.sin(seed + i));

/** One batch's answer as the gateway gets it from a local replica: tensors viewing one frame. */
function batchAnswer(seed: number): TensorMap {
  const out: TensorMap = {
    logits: { dtype: 'float32', shape: [BATCH, CLASSES], data: filled(BATCH * CLASSES, seed) },
    hn: { dtype: 'float32', shape: [BATCH, HIDDEN], data: filled(BATCH * HIDDEN, seed + 1) },
  };
  return decodeFrame(encodeFrame(out, 'outputs')) as TensorMap;
}

function cut(cutRows: Cut, out: TensorMap): TensorMap[] {
  const parts: TensorMap[] = [];
  for (let i = 0; i < BATCH; i++) parts.push(cutRows(out, i, 1));
  return parts;
}

let sink = 0;

/** ns per batch: `ITERS` batches, each cut (and, for a cycle, the states stacked again). */
function time(cutRows: Cut, cycle: boolean, answers: readonly TensorMap[]): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERS; i++) {
    const parts = cut(cutRows, answers[i % answers.length]!);
    if (cycle) sink += concatRows(parts.map((p) => ({ h0: p.hn! }))).h0!.data.length;
    else sink += parts.length;
  }
  return Number(process.hrtime.bigint() - t0) / ITERS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Bytes of distinct ArrayBuffers behind the kept states. */
function heldBytes(states: readonly Tensor[]): number {
  const buffers = new Set<ArrayBufferLike>();
  for (const s of states) buffers.add(s.data.buffer);
  let n = 0;
  for (const b of buffers) n += b.byteLength;
  return n;
}

/** Worst case: session i kept its state from batch i (it went idle after it), so each pins a batch. */
const worstCase = (cutRows: Cut): number => heldBytes(Array.from({ length: BATCH }, (_, i) => cutRows(batchAnswer(i), i, 1).hn!));

/** Lockstep waves: every session's state comes from the same, latest batch. */
const lockstep = (cutRows: Cut): number => heldBytes(cut(cutRows, batchAnswer(0)).map((p) => p.hn!));

const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function main(): void {
  const loadBefore = load();
  console.log(`slice-rows: batch ${BATCH} (logits [${BATCH}, ${CLASSES}], hn [${BATCH}, ${HIDDEN}] float32), ${ITERS} batches × ${ROUNDS} rounds; load ${loadBefore}`);
  const answers = Array.from({ length: 8 }, (_, i) => batchAnswer(i));
  // Both views and copies must read the same values.
  const a = cut(sliceRows, answers[0]!);
  const b = cut(viewRows, answers[0]!);
  if (!a.every((p, i) => p.hn!.data.every((v, j) => v === b[i]!.hn!.data[j]))) throw new Error('views and copies disagree');
  const all = { copy: sliceRows, lean: leanRows, view: viewRows, view_keep_copy: viewKeepCopy } as const;
  const only = process.env.MICRO_VARIANTS?.split(',') ?? Object.keys(all);
  const variants = Object.fromEntries(Object.entries(all).filter(([name]) => only.includes(name)));
  for (const fn of Object.values(variants)) for (const cycle of [false, true]) time(fn, cycle, answers); // warm-up
  const ns: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const cycle of [false, true]) {
      for (const [name, fn] of Object.entries(variants)) (ns[`${cycle ? 'cycle' : 'cut'}_${name}`] ??= []).push(time(fn, cycle, answers));
    }
  }
  const med = Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, Math.round(median(v))]));
  const min = Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, Math.round(Math.min(...v))]));
  for (const k of Object.keys(med)) {
    console.log(`  ${k.padEnd(20)} median ${(med[k]! / 1000).toFixed(1)} µs a batch (${(med[k]! / BATCH).toFixed(0)} ns a chunk), min ${(min[k]! / 1000).toFixed(1)} µs`);
  }
  const memory = { worst_copy: worstCase(sliceRows), worst_view: worstCase(viewRows), lockstep_copy: lockstep(sliceRows), lockstep_view: lockstep(viewRows) };
  console.log(`  state kept alive, ${BATCH} sessions: worst case copy ${memory.worst_copy} B, view ${memory.worst_view} B; lockstep copy ${memory.lockstep_copy} B, view ${memory.lockstep_view} B`);
  const loadAfter = load();
  console.log(`  load after ${loadAfter} (sink ${sink % 10})`);
  console.log(JSON.stringify({ batch: BATCH, iters: ITERS, rounds: ROUNDS, load_before: loadBefore, load_after: loadAfter, median_ns: med, min_ns: min, memory_bytes: memory }));
}

main();
