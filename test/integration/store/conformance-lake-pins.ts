/** Conformance: lake pins (store/lake-pin-store.ts): the first read's version holds, writes are noted once, release forgets all. */
import { expect, it } from 'vitest';
import { type OpenStore, T0, uniq, useStore } from './fixtures.ts';

export function lakePinConformance(open: OpenStore): void {
  const store = useStore(open);
  const pins = () => store().lakePins;

  it('keeps the first version a task read of a table; later reads get it back', async () => {
    const task = uniq('task');
    const table = { kind: 'datasets', name: uniq('rows') };
    expect(await pins().pinLakeRead(task, 'acme', table, 3, T0)).toBe(3);
    expect(await pins().pinLakeRead(task, 'acme', table, 5, T0 + 1)).toBe(3);
    const other = { kind: 'models', name: table.name };
    expect(await pins().pinLakeRead(task, 'acme', other, 7, T0 + 2)).toBe(7);
    await pins().noteLakeWrite(task, 'acme', table, T0 + 3);
    await pins().noteLakeWrite(task, 'acme', table, T0 + 4);
    expect(await pins().lakePinsOf(task)).toEqual({ reads: [{ ...table, version: 3 }, { ...other, version: 7 }], writes: [table] });
    expect(await pins().lakePinsOf(uniq('task'))).toEqual({ reads: [], writes: [] });
  });

  it('finds the users of a table (per tenant when asked) and releases a task', async () => {
    const [reader, writer, foreign] = [uniq('task'), uniq('task'), uniq('task')];
    const table = { kind: 'datasets', name: uniq('rows') };
    await pins().pinLakeRead(reader, 'acme', table, 1, T0);
    await pins().noteLakeWrite(writer, 'acme', table, T0);
    await pins().pinLakeRead(foreign, 'other', table, 1, T0);
    expect((await pins().lakeTableUsers(table)).sort()).toEqual([reader, writer, foreign].sort());
    expect((await pins().lakeTableUsers(table, 'acme')).sort()).toEqual([reader, writer].sort());
    expect(await pins().lakeTableUsers({ kind: 'models', name: table.name })).toEqual([]);
    expect(await pins().lakePinnedTasks()).toEqual(expect.arrayContaining([reader, writer, foreign]));
    await pins().releaseLakePins([]);
    await pins().releaseLakePins([reader, writer]);
    expect(await pins().lakeTableUsers(table)).toEqual([foreign]);
    expect(await pins().lakePinsOf(reader)).toEqual({ reads: [], writes: [] });
    expect(await pins().lakePinnedTasks()).not.toContain(writer);
  });
}
