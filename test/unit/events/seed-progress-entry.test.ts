import { describe, expect, it } from 'vitest';
import { parseSeedEntry } from '../../../src/events/sources/seed-progress-entry.ts';

const parse = (...flat: string[]) => parseSeedEntry('wan22-progress-stream', '1-0', flat);

describe('the seed’s progress stream entries', () => {
  it('reads serve_app.py’s completion message as the result, progress "100" as 1', () => {
    expect(parse('task_id', 't1', 'status', 'COMPLETED', 'progress', '100', 'url', 's3://b/k.mp4')).toEqual({
      stream: 'wan22-progress-stream',
      id: '1-0',
      taskId: 't1',
      kind: 'result',
      status: 'COMPLETED',
      fraction: 1,
      url: 's3://b/k.mp4',
      error: null,
      fields: { task_id: 't1', status: 'COMPLETED', progress: '100', url: 's3://b/k.mp4' },
    });
  });

  it('reads its failure message as the error', () => {
    const e = parse('task_id', 't1', 'status', 'FAILED', 'error', 'CUDA out of memory');
    expect(e).toMatchObject({ kind: 'error', error: 'CUDA out of memory', fraction: null });
  });

  it('anything else is progress: a percentage as a fraction, clamped; a non-number is no fraction', () => {
    expect(parse('task_id', 't', 'status', 'running', 'progress', '45')).toMatchObject({ kind: 'progress', status: 'RUNNING', fraction: 0.45 });
    expect(parse('task_id', 't', 'progress', '37.5%')).toMatchObject({ kind: 'progress', status: null, fraction: 0.375 });
    expect(parse('task_id', 't', 'progress', '250')).toMatchObject({ fraction: 1 });
    expect(parse('task_id', 't', 'progress', 'lots')).toMatchObject({ fraction: null });
    expect(parse('task_id', 't', 'progress', '')).toMatchObject({ fraction: null });
  });

  it('with no status, an error field makes it an error; other statuses of done and failed are known too', () => {
    expect(parse('task_id', 't', 'error', 'boom')).toMatchObject({ kind: 'error' });
    expect(parse('task_id', 't', 'status', 'completed')).toMatchObject({ kind: 'result' });
    expect(parse('task_id', 't', 'status', 'ERROR')).toMatchObject({ kind: 'error' });
  });

  it('an entry without task_id is invalid', () => {
    expect(parse('status', 'RUNNING')).toEqual({ invalid: 'entry 1-0 of wan22-progress-stream has no task_id' });
    expect(parse('task_id', '  ')).toHaveProperty('invalid');
  });
});
