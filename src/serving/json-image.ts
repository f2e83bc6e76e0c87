/**
 * A dedicated reader for seed 004's predict body, `{"image": [n, n, …]}` (one flat array of JSON
 * numbers), from its bytes straight into a Float32Array: no UTF-8 decoding, no parse tree, no
 * boxed numbers, no second walk. It
 * is the hot path of every JSON predict (784 numbers, ~14 KB); `JSON.parse` builds an array of
 * 784 heap numbers that `fromNested` then copies.
 *
 * Contract: `readImageBody` returns the values only for a body it reads completely and exactly
 * as `JSON.parse` would (each value is `Math.fround(Number(text))`), and `null` for anything else
 * (other keys, a nested image, a string among the numbers, invalid JSON, …). The caller then
 * parses the body the ordinary way, so every other body (and every refusal) behaves exactly as
 * before. One walk of the body: values go to a scratch array kept across calls, and the result
 * is one exact-size copy of it (no count of the commas first).
 *
 * Numbers: the digits are gathered into an integer mantissa and a decimal exponent, eight or
 * four at a time where a little-endian word of the body holds only digits (SWAR: one check and
 * a few integer steps per word instead of a multiply-add per digit; seed 004's numbers have 16
 * or 17 digits), the rest one at a time. While the
 * mantissa stays below 2^53 and the exponent within ±22, `m / 10^k` (or `m * 10^k`) is the
 * correctly rounded double (Clinger's fast path), as `Number(text)` is. Past 2^53 (17 digits,
 * common: `JSON.stringify(i / 255)`) the double is within a few ulps of the correct one (one
 * rounding per step of 8, 4 or 1 digits, at most 3 steps past 2^53); it is kept
 * only when nudging it by ±2^-48 (relative) rounds to the same float32 (then the correct double does
 * too), else that number is read with `Number(text)`. Anything outside the fast path's range
 * (more than 19 digits, a decimal exponent beyond ±22) is read with `Number(text)` as well.
 */

const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);
const TWO53 = 2 ** 53;
/** ±2^-48 relative: 8–16 ulps of a double, several times the error of a mantissa of ≤ 19 digits. */
const UP = 1 + 2 ** -48;
const DOWN = 1 - 2 ** -48;
/** Past 19 digits the mantissa's rounding error grows with each digit: read with Number(text). */
const MAX_DIGITS = 19;

const C_0 = 48;
const C_9 = 57;
const C_MINUS = 45;
const C_PLUS = 43;
const C_DOT = 46;
const C_E = 101;
const C_BIG_E = 69;
const C_COMMA = 44;
const C_OPEN = 91;
const C_CLOSE = 93;
const C_BRACE_OPEN = 123;
const C_BRACE_CLOSE = 125;
const C_COLON = 58;
const KEY = Buffer.from('"image"');

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
const isDigit = (c: number): boolean => c >= C_0 && c <= C_9;

/** Index of the first non-whitespace byte at or after `i` (stops at the closing brace at the latest). */
const skip = (s: Uint8Array, i: number): number => {
  while (isSpace(s[i]!)) i++;
  return i;
};

/** Index just past `{"image":[`, or -1. Only called once the body is known to end with `}`. */
const openImage = (s: Uint8Array): number => {
  let i = skip(s, 0);
  if (s[i] !== C_BRACE_OPEN) return -1;
  i = skip(s, i + 1);
  for (let k = 0; k < KEY.length; k++) if (s[i + k] !== KEY[k]) return -1;
  i = skip(s, i + KEY.length);
  if (s[i] !== C_COLON) return -1;
  i = skip(s, i + 1);
  return s[i] === C_OPEN ? i + 1 : -1;
};

const text = (s: Uint8Array, from: number, to: number): string => String.fromCharCode(...s.subarray(from, to));

/**
 * Where values are read before the result is cut to size: one array kept across calls, so the
 * body is walked once (no count of its commas first) and the result is one exact-size copy.
 * Grown by doubling; a body far larger than an image gets an array of its own, not kept.
 */
const SCRATCH_KEPT = 1 << 16;
let scratch: Float32Array = new Float32Array(1024);

/**
 * The values of `{"image": [numbers]}` (nothing else in the body), or null when the body is any
 * other JSON or not JSON at all: parse it the ordinary way then.
 */
export function readImageBody(s: Uint8Array): Float32Array | null {
  // The last non-space byte must be `}`: every scan below stops there at the latest, so no read
  // runs past the body.
  let end = s.length - 1;
  while (end >= 0 && isSpace(s[end]!)) end--;
  if (end < 0 || s[end] !== C_BRACE_CLOSE) return null;
  let i = openImage(s);
  if (i < 0) return null;
  let out: Float32Array = scratch;
  let n = 0;
  i = skip(s, i);
  if (s[i] === C_CLOSE) return skip(s, i + 1) === end ? new Float32Array(0) : null;
  const words = new DataView(s.buffer, s.byteOffset, s.byteLength);
  for (;;) {
    const start = i;
    let c = s[i]!;
    const negative = c === C_MINUS;
    if (negative) c = s[++i]!;
    if (!isDigit(c)) return null;
    let mantissa = 0;
    let digits = 0;
    // Integer part: "0" alone or a non-zero digit first (JSON has no leading zeros).
    if (c === C_0) i++;
    else {
      mantissa = digitRun(s, words, i, end, 0);
      digits = runEnd - i;
      i = runEnd;
    }
    c = s[i]!;
    if (isDigit(c)) return null;
    let exp10 = 0;
    if (c === C_DOT) {
      if (!isDigit(s[++i]!)) return null;
      mantissa = digitRun(s, words, i, end, mantissa);
      digits += runEnd - i;
      exp10 = i - runEnd;
      i = runEnd;
      c = s[i]!;
    }
    if (c === C_E || c === C_BIG_E) {
      c = s[++i]!;
      let sign = 1;
      if (c === C_MINUS || c === C_PLUS) {
        sign = c === C_MINUS ? -1 : 1;
        c = s[++i]!;
      }
      if (!isDigit(c)) return null;
      let e = 0;
      while (isDigit(c)) {
        if (e < 1e6) e = e * 10 + (c - C_0);
        c = s[++i]!;
      }
      exp10 += sign * e;
    }
    if (n === out.length) out = grow(out, n);
    if (digits > MAX_DIGITS || exp10 < -22 || exp10 > 22) {
      // Past a double's range (1e400) JSON.parse gives Infinity, which the tensor check refuses: leave it to that path.
      const value = Number(text(s, start, i));
      if (!Number.isFinite(value)) return null;
      out[n++] = value;
    } else {
      const magnitude = exp10 < 0 ? mantissa / POW10[-exp10]! : mantissa * POW10[exp10]!;
      const value = negative ? -magnitude : magnitude;
      // Below 2^53 the double is exact (correctly rounded); above, within a few ulps: keep it when
      // every double that close rounds to the same float32.
      if (mantissa < TWO53 || Math.fround(value * UP) === Math.fround(value * DOWN)) out[n++] = value;
      else out[n++] = Number(text(s, start, i));
    }
    if (isSpace(c)) c = s[(i = skip(s, i))]!;
    if (c === C_COMMA) {
      i = skip(s, i + 1);
      continue;
    }
    if (c === C_CLOSE && skip(s, i + 1) === end) return out.slice(0, n);
    return null;
  }
}

/** Where the last digitRun stopped (the first byte that is not a digit). */
let runEnd = 0;

/** Four ASCII digits in a little-endian word (the first digit in its low byte)? */
const fourDigits = (w: number): boolean => (w & 0xf0f0f0f0) === 0x30303030 && ((w + 0x06060606) & 0xf0f0f0f0) === 0x30303030;

/** The value of four ASCII digits in a little-endian word: pairs first (10·d0 + d1 in byte 0, 10·d2 + d3 in byte 2), then 100·pair + pair. */
const fourValue = (w: number): number => {
  const x = w - 0x30303030;
  const pairs = x * 10 + (x >>> 8);
  return (pairs & 0xff) * 100 + ((pairs >>> 16) & 0xff);
};

/**
 * `mantissa` with the digits from `i` on appended (×10 each), eight or four at a time while
 * whole words of digits lie before `end` (the body's closing brace), then one at a time; sets
 * runEnd. Exact below 2^53; past it, one rounding per step as with a digit at a time, and
 * fewer steps.
 */
function digitRun(s: Uint8Array, words: DataView, i: number, end: number, mantissa: number): number {
  while (i + 8 <= end) {
    const a = words.getUint32(i, true);
    const b = words.getUint32(i + 4, true);
    if (!fourDigits(a) || !fourDigits(b)) break;
    mantissa = mantissa * 1e8 + (fourValue(a) * 10_000 + fourValue(b));
    i += 8;
  }
  if (i + 4 <= end) {
    const a = words.getUint32(i, true);
    if (fourDigits(a)) {
      mantissa = mantissa * 1e4 + fourValue(a);
      i += 4;
    }
  }
  let d = s[i]! - C_0;
  while (d >>> 0 <= 9) {
    mantissa = mantissa * 10 + d;
    d = s[++i]! - C_0;
  }
  runEnd = i;
  return mantissa;
}

/** `out` twice as large, its first `n` values kept; kept for the next call unless past SCRATCH_KEPT. */
function grow(out: Float32Array, n: number): Float32Array {
  const larger = new Float32Array(out.length * 2);
  larger.set(out.subarray(0, n));
  if (larger.length <= SCRATCH_KEPT) scratch = larger;
  return larger;
}
