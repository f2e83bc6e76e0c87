import { describe, expect, it } from 'vitest';
import { DriverMailbox } from '../../../src/executors/ray/actors/driver-mailbox.ts';

const item = (id: string) => ({ task_id: id, attempt: 1, token: 't', pool: 'py', job: {} });
const never = () => new AbortController().signal;

describe('DriverMailbox: the long poll of an actors-mode driver', () => {
  it('answers at once with what is queued, and each item leaves once', async () => {
    const box = new DriverMailbox(60_000);
    box.run(item('a'));
    box.cancel('b', 500);
    expect(await box.wait(never())).toEqual({ run: [item('a')], cancel: [{ task_id: 'b', grace_ms: 500 }] });
    const held = box.wait(never());
    box.close();
    expect(await held).toEqual({ run: [], cancel: [] });
  });

  it('holds an empty poll until work arrives, or its wait passes', async () => {
    const box = new DriverMailbox(60_000);
    const held = box.wait(never());
    box.run(item('a'));
    expect(await held).toEqual({ run: [item('a')], cancel: [] });
    const short = new DriverMailbox(30);
    const at = Date.now();
    expect(await short.wait(never())).toEqual({ run: [], cancel: [] });
    expect(Date.now() - at).toBeGreaterThanOrEqual(25);
  });

  it('a newer poll answers the held one; a poll whose client left is answered empty and keeps the queue', async () => {
    const box = new DriverMailbox(60_000);
    const older = box.wait(never());
    const left = new AbortController();
    const newer = box.wait(left.signal);
    expect(await older).toEqual({ run: [], cancel: [] });
    left.abort();
    expect(await newer).toEqual({ run: [], cancel: [] });
    box.run(item('a'));
    expect(await box.wait(never())).toEqual({ run: [item('a')], cancel: [] });
  });

  it('takes back a run not yet sent; stop answers at once', async () => {
    const box = new DriverMailbox(60_000);
    box.run(item('a'));
    expect(box.takeBack('a')).toBe(true);
    expect(box.takeBack('a')).toBe(false);
    expect(await box.wait(never(), true)).toEqual({ run: [], cancel: [], stop: true });
  });
});
