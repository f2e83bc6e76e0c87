/**
 * How deeply a parsed JSON value nests, checked without recursion: a hostile body can nest
 * hundreds of thousands of levels (V8's JSON.parse takes it), and every recursive walk after
 * it (JSON.stringify in the store, canonical hashing, a script's json.loads) would overflow
 * its stack. The walk uses its own stack and stops at the first value past the limit, so its
 * cost is bounded by the value's size and its memory by the number of containers.
 *
 * Depth counts containers: a scalar is 0, `{}` and `[1, 2]` are 1, `{"a": [1]}` is 2.
 */

/** True when some object or array of `value` sits more than `max` containers deep. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const v = top.value;
    if (v === null || typeof v !== 'object') continue;
    if (top.depth > max) return true;
    const children: readonly unknown[] = Array.isArray(v) ? v : Object.values(v);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push({ value: child, depth: top.depth + 1 });
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;

/** Quotes and brackets: the only characters the depth scan needs to stop at. */
const STRUCTURE = /["[\]{}]/g;

/** Whether the text holds more than `max` opening brackets (counted natively with indexOf, stopping at max + 1). */
function opensMoreThan(text: string, max: number): boolean {
  let n = 0;
  for (const open of ['[', '{']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) if (++n > max) return true;
  }
  return false;
}

/**
 * The same question asked of JSON text before it is parsed: V8 parses deep nesting slowly
 * (0.7 s for a 1 MiB body of `[`), while this scan stops at the first bracket past the limit.
 * Brackets inside strings do not count. Text that is not JSON may be answered either way; the
 * parser refuses it afterwards.
 *
 * It runs on every JSON body, so it is cheap: text with at most `max` opening brackets in all
 * (most bodies: a task, or a predict request of a few rows, holds a handful) cannot nest
 * deeper, and is answered by counting them; otherwise a regular expression jumps from quote
 * or bracket to the next, past the numbers and commas that are most of a tensor's text.
 */
export function textNestsDeeperThan(text: string, max: number): boolean {
  if (!opensMoreThan(text, max)) return false;
  let depth = 0;
  STRUCTURE.lastIndex = 0;
  for (let m = STRUCTURE.exec(text); m !== null; m = STRUCTURE.exec(text)) {
    const c = text.charCodeAt(m.index);
    if (c === QUOTE) STRUCTURE.lastIndex = stringEnd(text, m.index) + 1;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else depth--;
  }
  return false;
}

/** Index of the quote that ends the string opened at `open` (text.length if none): skipped with indexOf, most of a body is strings. */
function stringEnd(text: string, open: number): number {
  for (let q = text.indexOf('"', open + 1); q !== -1; q = text.indexOf('"', q + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
  return text.length;
}
