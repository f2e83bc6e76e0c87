/**
 * The actors-mode driver (lakeray.ray_driver) on the run's real Ray head, driven through contract
 * D's poll protocol by a test peer (driver-peer.ts: a test of the driver, not a stand-in for
 * Lakeray). Scripts run through the harness's own run_job on warm actors and report over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RayJobsClient } from '../../../../src/executors/ray/jobs-client.ts';
import { until } from '../../../helpers/until.ts';
import type { DriverPeer } from './driver-peer.ts';
import { driverLog, driverOnHead, runItem, type StartedDriver } from './start-driver.ts';

let ray: RayJobsClient;
let peer: DriverPeer;
let driver: StartedDriver;
const TOKEN = 'executor-token-pool';
const uid = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;
const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  ({ ray, peer, driver } = await driverOnHead({
    executor: 'raypool',
    token: TOKEN,
    pools: { py: { num_cpus: 0.25, min_actors: 1, max_actors: 2, preload: ['json'], idle_timeout_s: 4 } },
  }));
}, 900_000);

afterAll(async () => {
  await driver?.stop();
  await peer?.close();
  ray?.close();
});

async function outcome(taskId: string, ms = 120_000) {
  return until(`outcome of ${taskId}`, async () => peer.of(taskId, 'result') ?? peer.of(taskId, 'error'), ms, 10).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${await driverLog(ray, driver.submissionId)}`);
  });
}

describe('actors-mode driver on a real Ray head (test peer plays Lakeray\'s poll protocol)', { timeout: 600_000 }, () => {
  it('polls with the executor token, reporting its pools\' free slots', () => {
    const p = peer.lastPoll()!;
    expect(p.driver_id).toBe(driver.submissionId);
    expect(p.capacity).toEqual({ py: 2 });
    expect(p.running).toEqual([]);
  });

  it('runs a script unchanged on a warm actor, reports over HTTP, and measures submit → run() entered', async () => {
    const entered: number[] = [];
    const pids = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const id = uid('echo');
      peer.run(runItem(driver.scriptPackage, 'py', id, 'task.py', { value: i }));
      const res = await outcome(id);
      expect(res.type, JSON.stringify(peer.reports.get(id))).toBe('result');
      const value = res.value as { echo: number; pid: number; json_preloaded: boolean; cwd_is_package: boolean };
      expect(value).toMatchObject({ echo: i, json_preloaded: true, cwd_is_package: true });
      pids.add(value.pid);
      const types = peer.reports.get(id)!.map((m) => m.type);
      expect(types).toEqual(['ready', 'started', 'progress', 'result', 'done']); // ready: which actor runs it
      expect(peer.reports.get(id)!.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
      // the first run may still wait for the actor's start; the rest are warm
      if (i > 1) entered.push((peer.of(id, 'started')!.ts as number) - peer.sentAt.get(id)!);
    }
    expect(pids.size).toBe(1); // one warm actor took them all, one after the other
    entered.sort((a, b) => a - b);
    const p50 = entered[Math.floor(entered.length / 2)]!;
    console.info(`[measure] actors: poll answer → run() entered on a warm actor: p50 ${p50.toFixed(1)} ms, max ${entered.at(-1)!.toFixed(1)} ms (n=${entered.length})`);
    expect(p50).toBeLessThan(1_000);
    await until('done reported in a poll', async () => peer.lastPoll()?.running.length === 0, 30_000, 50);
  });

  it('cancel interrupts the script (its finally runs), then the actor is killed and replaced', async () => {
    const id = uid('loop');
    peer.run(runItem(driver.scriptPackage, 'py', id, 'task.py', { mode: 'loop' }));
    await until('started', async () => peer.of(id, 'started'), 120_000, 10);
    await until('running in a poll', async () => peer.lastPoll()?.running.includes(id), 30_000, 20);
    const before = await until('pid', async () => pidOfRunning(id), 30_000, 20);
    peer.cancel(id, 5_000);
    const err = await outcome(id, 30_000);
    expect(err).toMatchObject({ type: 'error', code: 'PROCESS_EXITED' });
    expect(peer.reports.get(id)!.some((m) => m.type === 'log' && m.message === 'cleanup ran')).toBe(true);
    const done = await until('done in a poll', async () => peer.doneOf(id), 30_000, 20);
    expect(done.error).toBeNull(); // the actor reported the outcome itself
    await until('cancelled actor gone', async () => !pidAlive(before), 30_000, 50);
    expect(await pidOfNext()).not.toBe(before);
  });

  it('a script deaf to the interrupt is killed after the grace period; the driver reports the task done with an error', async () => {
    const id = uid('block');
    peer.run(runItem(driver.scriptPackage, 'py', id, 'task.py', { mode: 'block' }));
    await until('started', async () => peer.of(id, 'started'), 120_000, 10);
    const t0 = Date.now();
    peer.cancel(id, 1_000);
    const done = await until('done in a poll', async () => peer.doneOf(id), 30_000, 20);
    expect(done.error?.code).toBe('PROCESS_EXITED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(peer.of(id, 'result')).toBeUndefined();
  });

  it('an actor killed with SIGKILL mid-task: the task is done with PROCESS_EXITED and the pool has its slot back', async () => {
    const id = uid('killed');
    peer.run(runItem(driver.scriptPackage, 'py', id, 'task.py', { mode: 'loop' }));
    await until('started', async () => peer.of(id, 'started'), 120_000, 10);
    const pid = Number((await until('pid', async () => pidOfRunning(id), 30_000, 50)));
    process.kill(pid, 'SIGKILL');
    const done = await until('done in a poll', async () => peer.doneOf(id), 60_000, 20);
    expect(done.error).toMatchObject({ code: 'PROCESS_EXITED' });
    expect(done.error!.message).toMatch(/actor died/);
    await until('capacity back', async () => peer.lastPoll()?.capacity.py === 2, 30_000, 50);
    expect(await pidOfNext()).not.toBe(pid);
  });

  it('idle actors above min_actors stop after idle_timeout_s', async () => {
    // two at once: the pool grows to its maximum of two actors
    const a = uid('par');
    const b = uid('par');
    peer.run(runItem(driver.scriptPackage, 'py', a, 'task.py', { value: 'a', sleep: 2 }));
    peer.run(runItem(driver.scriptPackage, 'py', b, 'task.py', { value: 'b', sleep: 2 }));
    const pa = ((await outcome(a)).value as { pid: number }).pid;
    const pb = ((await outcome(b)).value as { pid: number }).pid;
    expect(pa).not.toBe(pb);
    await until('one of them reaped', async () => !pidAlive(pa) || !pidAlive(pb), 60_000, 200);
    expect(pidAlive(pa) || pidAlive(pb)).toBe(true); // min_actors: 1 stays warm
  });
});

/** The pid of the actor that takes the next task (a quick echo). */
async function pidOfNext(): Promise<number> {
  const id = uid('probe');
  peer.run(runItem(driver.scriptPackage, 'py', id, 'task.py', {}));
  const res = await outcome(id);
  return (res.value as { pid: number }).pid;
}

/** The pid of the actor running `taskId` (a loop script logs it first). */
async function pidOfRunning(taskId: string): Promise<number | undefined> {
  const log = peer.reports.get(taskId)?.find((m) => m.type === 'log' && String(m.message).startsWith('pid '));
  return log ? Number(String(log.message).slice(4)) : undefined;
}
