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
 * before. No allocation but the result.
 *
 * Numbers: the digits are gathered into an integer mantissa and a decimal exponent. While the
 * mantissa stays below 2^53 and the exponent within ±22, `m / 10^k` (or `m * 10^k`) is the
 * correctly rounded double (Clinger's fast path), as `Number(text)` is. Past 2^53 (17 digits,
 * common: `JSON.stringify(i / 255)`) the double is within ~2 ulps of the correct one; it is kept
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

/** Upper bound of the numbers in the array: its commas + 1. */
const countValues = (s: Uint8Array, from: number): number => {
  let n = 1;
  for (let i = s.indexOf(C_COMMA, from); i !== -1; i = s.indexOf(C_COMMA, i + 1)) n++;
  return n;
};

const text = (s: Uint8Array, from: number, to: number): string => String.fromCharCode(...s.subarray(from, to));

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
  const out = new Float32Array(countValues(s, i));
  let n = 0;
  i = skip(s, i);
  if (s[i] === C_CLOSE) return skip(s, i + 1) === end ? out.subarray(0, 0) : null;
  for (;;) {
    const start = i;
    let c = s[i]!;
    const negative = c === C_MINUS;
    if (negative) c = s[++i]!;
    if (!isDigit(c)) return null;
    let mantissa = 0;
    let exp10 = 0;
    let digits = 0;
    // Integer part: "0" alone or a non-zero digit first (JSON has no leading zeros).
    if (c === C_0) c = s[++i]!;
    else {
      while (isDigit(c)) {
        mantissa = mantissa * 10 + (c - C_0);
        digits++;
        c = s[++i]!;
      }
    }
    if (isDigit(c)) return null;
    if (c === C_DOT) {
      c = s[++i]!;
      if (!isDigit(c)) return null;
      while (isDigit(c)) {
        mantissa = mantissa * 10 + (c - C_0);
        digits++;
        exp10--;
        c = s[++i]!;
      }
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
    if (digits > MAX_DIGITS || exp10 < -22 || exp10 > 22) {
      // Past a double's range (1e400) JSON.parse gives Infinity, which the tensor check refuses: leave it to that path.
      const value = Number(text(s, start, i));
      if (!Number.isFinite(value)) return null;
      out[n++] = value;
    } else {
      const magnitude = exp10 < 0 ? mantissa / POW10[-exp10]! : mantissa * POW10[exp10]!;
      const value = negative ? -magnitude : magnitude;
      // Below 2^53 the double is exact (correctly rounded); above, within 2 ulps: keep it when
      // every double that close rounds to the same float32.
      if (mantissa < TWO53 || Math.fround(value * UP) === Math.fround(value * DOWN)) out[n++] = value;
      else out[n++] = Number(text(s, start, i));
    }
    i = skip(s, i);
    c = s[i]!;
    if (c === C_COMMA) {
      i = skip(s, i + 1);
      continue;
    }
    if (c === C_CLOSE) return skip(s, i + 1) === end ? out.subarray(0, n) : null;
    return null;
  }
}
