/**
 * A row filter must be exactly one SQL expression. Lance parses a filter by putting it after
 * `SELECT 1 FROM t WHERE ` and reading ONE statement, so whatever follows a complete
 * expression is dropped without a word: `label = 3; DROP TABLE x`, `label = 3 )))` and
 * `label = 3 label = 4` all read as `label = 3`. This module closes that gap in two steps:
 *
 *   1. `checkFilter` scans the text the way Lance's tokenizer does (single-quoted strings,
 *      double-quoted and backquoted identifiers, each with its doubled quote as escape; no
 *      backslash escapes) and refuses what cannot be part of one expression: a `;`, a comma
 *      outside brackets, a bracket closed that was never opened or opened and never closed,
 *      an unterminated quote. It also refuses comments and `$` quoting, which Lance's
 *      tokenizer reads differently from this scan (and `$$…$$` crashes its planner).
 *   2. `asOneExpression` hands Lance the filter inside parentheses. Inside a parenthesis the
 *      parser must reach the closing one, so any token left over after an expression (the
 *      `label = 4` of `label = 3 label = 4`) becomes Lance's own parse error instead of being
 *      ignored. Step 1 guarantees the parenthesis we add is the one that closes.
 *
 * The grammar of an expression stays Lance's: nothing here accepts or refuses a filter that
 * Lance would read differently as a whole.
 */
import { LakeError } from '../lake.ts';

const OPEN = '([{';
const CLOSE = ')]}';
const QUOTES = `'"\``;

const at = (text: string, i: number): string => `"${text[i]}" at character ${i + 1}`;

function bad(filter: string, why: string): LakeError {
  return new LakeError('BAD_FILTER', `invalid filter "${filter}": ${why}`);
}

/** Refuses (BAD_FILTER) a filter that is not one expression as far as its tokens show. */
export function checkFilter(filter: string): void {
  const open: number[] = []; // positions of the brackets still open
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i] as string;
    if (QUOTES.includes(c)) {
      const end = closingQuote(filter, i);
      if (end < 0) throw bad(filter, `the quote ${at(filter, i)} is never closed`);
      i = end;
    } else if (OPEN.includes(c)) open.push(i);
    else if (CLOSE.includes(c)) {
      const from = open.pop();
      if (from === undefined) throw bad(filter, `${at(filter, i)} closes nothing; a filter is one expression`);
      if (OPEN.indexOf(filter[from] as string) !== CLOSE.indexOf(c)) throw bad(filter, `${at(filter, i)} does not match ${at(filter, from)}`);
    } else if (c === ';') throw bad(filter, `${at(filter, i)}: a filter is one expression, not statements`);
    else if (c === ',' && open.length === 0) throw bad(filter, `${at(filter, i)}: a filter is one expression (join conditions with AND or OR)`);
    else if ((c === '-' && filter[i + 1] === '-') || (c === '/' && filter[i + 1] === '*')) throw bad(filter, `comments are not allowed (${at(filter, i)})`);
    else if (c === '$' && !isWordChar(filter[i - 1])) throw bad(filter, `${at(filter, i)}: $ placeholders and $$ strings are not supported`);
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) throw bad(filter, `${at(filter, unclosed)} is never closed`);
}

/** What Lance is given for a filter that passed `checkFilter`: it, as one parenthesized expression. */
export const asOneExpression = (filter: string): string => `(${filter})`;

/** Index of the quote closing the one at `start` ('' inside '…' is an escaped quote), or -1. */
function closingQuote(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] !== q) continue;
    if (text[i + 1] === q) i++;
    else return i;
  }
  return -1;
}

// `a$b` is one identifier to Lance's tokenizer; a `$` that starts a token is not.
const isWordChar = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}_$]/u.test(c);
