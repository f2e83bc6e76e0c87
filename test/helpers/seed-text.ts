/**
 * The text of one of the user's seed documents (../shared/seeds/<NNN>_*.txt), for the tests that
 * check their copies of a seed's snippets are verbatim; undefined where the seeds are not on the
 * machine (the copies in the test then stand on their own).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const SEEDS = '/work/shared/seeds';

export function seedText(number: string): string | undefined {
  const file = existsSync(SEEDS) ? readdirSync(SEEDS).find((f) => f.startsWith(number)) : undefined;
  return file === undefined ? undefined : readFileSync(`${SEEDS}/${file}`, 'utf8');
}
