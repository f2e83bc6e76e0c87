/**
 * `lakeray up`'s server log next to its banner: one readable line per entry (pino-pretty) for a
 * person at a terminal, JSON lines when asked (--log-format json, LAKERAY_LOG_FORMAT) or when
 * stdout is not a terminal. The real launcher in a child process; a pseudo-terminal from
 * util-linux `script` stands in for the user's terminal.
 */
import { stripVTControlCharacters } from 'node:util';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/server-process.ts';
import { startUp, type UpProcess } from '../../acceptance/up-process.ts';

/** A request the server rejects with a 404, logged as "request rejected". */
async function rejectOne(up: UpProcess): Promise<void> {
  const r = await request(`${up.url}/api/v1/tasks/t_nope`);
  expect(r.statusCode).toBe(404);
  await r.body.dump();
}

const logLines = (text: string) =>
  stripVTControlCharacters(text)
    .split(/\r?\n/)
    .filter((l) => l.length > 0 && !l.startsWith('Lakeray is running') && !l.startsWith('  '));

const PRETTY_REJECTED = /^\[\d\d:\d\d:\d\d\] INFO: request rejected \{"code":"TASK_NOT_FOUND","message":"Task 't_nope' does not exist"\}$/;

describe('lakeray up: log format', () => {
  it('stdout not a terminal (auto): JSON lines', async () => {
    const up = await startUp(tempDir('lakeray-logs-'), []);
    try {
      await rejectOne(up);
      await up.waitFor(/request rejected/);
      const lines = logLines(up.stdout());
      expect(lines.length).toBeGreaterThan(0);
      const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(docs.find((d) => d.msg === 'request rejected')).toMatchObject({ level: 30, code: 'TASK_NOT_FOUND' });
    } finally {
      await up.stop();
    }
  }, 60_000);

  it('--log-format pretty (and LAKERAY_LOG_FORMAT=pretty): one readable line per entry, no JSON', async () => {
    for (const how of [{ args: ['--log-format', 'pretty'] }, { args: [], env: { LAKERAY_LOG_FORMAT: 'pretty' } }]) {
      const up = await startUp(tempDir('lakeray-logs-'), how.args, { env: how.env });
      try {
        await rejectOne(up);
        await up.waitFor(/request rejected/);
        const lines = logLines(up.stdout());
        expect(lines.some((l) => PRETTY_REJECTED.test(l)), lines.join('\n')).toBe(true);
        expect(lines.filter((l) => l.startsWith('{')), JSON.stringify(how)).toEqual([]);
      } finally {
        await up.stop();
      }
    }
  }, 90_000);

  it('on a terminal (auto): pretty; --log-format json there: JSON', async () => {
    const onTerminal = (argv: string[]) => ['script', '-qfec', argv.map((a) => `'${a}'`).join(' '), '/dev/null'];
    const pretty = await startUp(tempDir('lakeray-logs-'), [], { wrap: onTerminal });
    try {
      await rejectOne(pretty);
      await pretty.waitFor(/request rejected/);
      const lines = logLines(pretty.stdout());
      expect(lines.some((l) => PRETTY_REJECTED.test(l)), lines.join('\n')).toBe(true);
      expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    } finally {
      await pretty.stop();
    }
    const json = await startUp(tempDir('lakeray-logs-'), ['--log-format', 'json'], { wrap: onTerminal });
    try {
      await rejectOne(json);
      await json.waitFor(/request rejected/);
      expect(logLines(json.stdout()).map((l) => JSON.parse(l).msg)).toContain('request rejected');
    } finally {
      await json.stop();
    }
  }, 90_000);
});
