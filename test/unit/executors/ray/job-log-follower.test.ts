import { describe, expect, it } from 'vitest';
import { JobLogFollower } from '../../../../src/executors/ray/job-log-follower.ts';

/** A log that grows as Ray's does: each logs() call returns the whole text so far. */
function growingLog(...snapshots: string[]) {
  let i = 0;
  return { logs: async () => snapshots[Math.min(i++, snapshots.length - 1)] as string };
}

describe('JobLogFollower', () => {
  it('returns each complete line once, holding a partial line until its newline', async () => {
    const f = new JobLogFollower(growingLog('', 'a\nb', 'a\nbc\nd\n', 'a\nbc\nd\n'), 'job');
    expect((await f.read()).lines).toEqual([]);
    expect((await f.read()).lines).toEqual(['a']);
    expect((await f.read()).lines).toEqual(['bc', 'd']);
    expect((await f.read()).lines).toEqual([]);
    expect(f.offset).toBe('a\nbc\nd\n'.length);
  });

  it('readFinal gives the last line without a newline; CRLF endings lose the CR', async () => {
    const f = new JobLogFollower(growingLog('x\r\ny', 'x\r\ny'), 'job');
    expect((await f.read()).lines).toEqual(['x']);
    expect((await f.readFinal()).lines).toEqual(['y']);
  });

  it('resumes from an offset without repeating a line', async () => {
    const log = 'one\ntwo\nthree\n';
    const f = new JobLogFollower(growingLog(log), 'job', 'one\n'.length);
    expect((await f.read()).lines).toEqual(['two', 'three']);
  });

  it('a log shorter than the offset (Ray lost it) is read again from its start, flagged', async () => {
    const f = new JobLogFollower(growingLog('new\n'), 'job', 100);
    const chunk = await f.read();
    expect(chunk).toEqual({ lines: ['new'], offset: 4, restarted: true });
  });
});
