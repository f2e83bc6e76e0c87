import { describe, expect, it } from 'vitest';
import type { TaskJson } from '../../../src/cli/client.ts';
import {
  formatAge,
  formatDuration,
  formatEta,
  formatPercent,
  formatQueuePosition,
  formatTable,
  taskRow,
  toMs,
} from '../../../src/cli/format.ts';

describe('durations', () => {
  it.each([
    [0, '0.0s'],
    [420, '0.4s'],
    [2190, '2.1s'],
    [9999, '9.9s'],
    [42_000, '42s'],
    [185_000, '3m05s'],
    [3_720_000, '1h02m'],
    [2 * 86_400_000 + 3 * 3_600_000, '2d03h'],
    [-5, '0.0s'],
  ])('formatDuration(%d) = %s', (ms, s) => expect(formatDuration(ms)).toBe(s));

  it('rounds an ETA up to whole seconds', () => {
    expect(formatEta(2.1)).toBe('3s');
    expect(formatEta(0)).toBe('0s');
    expect(formatEta(59.5)).toBe('1m00s');
    expect(formatEta(-3)).toBe('0s');
  });

  it('ages coarsely', () => {
    expect([5_000, 125_000, 7_300_000, 3 * 86_400_000].map(formatAge)).toEqual(['5s', '2m', '2h', '3d']);
  });

  it('reads ISO strings and epoch ms', () => {
    expect(toMs('2025-01-01T00:00:00.000Z')).toBe(Date.UTC(2025, 0, 1));
    expect(toMs(5)).toBe(5);
    expect(toMs(null)).toBeNull();
    expect(toMs('garbage')).toBeNull();
  });
});

describe('formatTable', () => {
  it('aligns columns, right-aligns numbers, leaves no trailing spaces', () => {
    const out = formatTable(
      [{ header: 'ID' }, { header: 'PCT', align: 'right' }, { header: 'NAME' }],
      [
        ['a', '5%', 'x'],
        ['bbbb', '100%', 'long name'],
      ],
    );
    expect(out).toBe(['ID     PCT  NAME', 'a       5%  x', 'bbbb  100%  long name'].join('\n'));
  });

  it('cuts long cells with an ellipsis', () => {
    expect(formatTable([{ header: 'N', maxWidth: 5 }, { header: 'S' }], [['abcdefgh', 'ok']])).toBe('N      S\nabcd…  ok');
  });
});

describe('task rows', () => {
  const base = { id: 't', name: 'n', status: 'pending', progress: null, queue_position: 0 } as unknown as TaskJson;
  it('shows queue position only while queued and durations from start to finish', () => {
    const now = Date.UTC(2025, 0, 1, 1);
    expect(taskRow({ ...base, created_at: new Date(now - 30_000).toISOString(), started_at: null, finished_at: null }, now)).toEqual([
      't', 'n', 'pending', '-', 'next', '30s', '-',
    ]);
    const done = { ...base, status: 'failed', queue_position: null, progress: { fraction: 0.333, message: null } } as TaskJson;
    expect(taskRow({ ...done, created_at: now - 600_000, started_at: now - 500_000, finished_at: now - 380_000 }, now)).toEqual([
      't', 'n', 'failed', '33%', '-', '10m', '2m00s',
    ]);
  });

  it('formats positions and percents', () => {
    expect([formatQueuePosition(0), formatQueuePosition(3), formatQueuePosition(null)]).toEqual(['next', '3 ahead', '-']);
    expect([formatPercent(0.999), formatPercent(1), formatPercent(undefined)]).toEqual(['99%', '100%', '-']);
  });
});
