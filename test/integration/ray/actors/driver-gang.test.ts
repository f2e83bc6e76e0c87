/**
 * Gangs on the run's real Ray head: a pool of `gang: 2` actors in a placement group forming one
 * torch.distributed process group (gloo on CPU), driven through contract D's poll protocol by a
 * test peer (driver-peer.ts: a test of the driver, not a stand-in for Lakeray).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RayJobsClient } from '../../../../src/executors/ray/jobs-client.ts';
import { until } from '../../../helpers/until.ts';
import type { DriverPeer } from './driver-peer.ts';
import { driverLog, driverOnHead, runItem, type StartedDriver } from './start-driver.ts';

let ray: RayJobsClient;
let peer: DriverPeer;
let driver: StartedDriver;
const TOKEN = 'executor-token-gang';
const uid = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;

beforeAll(async () => {
  ({ ray, peer, driver } = await driverOnHead({
    executor: 'raygang',
    token: TOKEN,
    pools: { dist: { num_cpus: 0.25, gang: 2, min_actors: 1, max_actors: 1, preload: ['torch'] } },
  }));
}, 900_000);

afterAll(async () => {
  await driver?.stop();
  await peer?.close();
  ray?.close();
});

const settled = (taskId: string, ms = 240_000) =>
  until(`${taskId} settled`, async () => peer.of(taskId, 'result') ?? peer.doneOf(taskId)?.error ?? peer.of(taskId, 'error'), ms, 20).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${await driverLog(ray, driver.submissionId)}`);
  });

interface GangResult { sum: number; rank: number; world: number; dist_rank: number; setup: { token: string } }

describe('gang of 2 CPU ranks (gloo) on a real Ray head (test peer plays Lakeray\'s poll protocol)', { timeout: 900_000 }, () => {
  let token = '';

  it('every rank runs run() and all-reduces; rank 0 alone reports the one result; setup() runs once per gang', async () => {
    expect(peer.lastPoll()!.capacity).toEqual({ dist: 1 }); // a gang is one slot
    const results: GangResult[] = [];
    for (let i = 0; i < 2; i++) {
      const id = uid('gang');
      peer.run(runItem(driver.scriptPackage, 'dist', id, 'gang.py', {}));
      const res = await settled(id);
      expect(res, JSON.stringify(peer.reports.get(id))).toMatchObject({ type: 'result' });
      results.push((res as unknown as { value: GangResult }).value);
      const types = peer.reports.get(id)!.map((m) => m.type);
      expect(types).toEqual(['ready', 'started', 'progress', 'result', 'done']); // one rank's reports only
      expect(peer.reports.get(id)![0]).toMatchObject({ actor_id: expect.stringMatching(/^[0-9a-f]{32}$/), node_id: expect.stringMatching(/^[0-9a-f]+$/) });
    }
    expect(results[0]).toMatchObject({ sum: 3, rank: 0, world: 2, dist_rank: 0 });
    expect(results[1]!.setup.token).toBe(results[0]!.setup.token);
    token = results[0]!.setup.token;
  });

  it('a rank whose run() raises fails the task with GANG_RANK_FAILED; the next task gets a new gang', async () => {
    const id = uid('rankfail');
    peer.run(runItem(driver.scriptPackage, 'dist', id, 'gang.py', { fail_rank: 1 }));
    const err = await settled(id);
    expect(err).toMatchObject({ code: 'GANG_RANK_FAILED' });
    expect((err as { message: string }).message).toMatch(/rank 1 failed: SCRIPT_ERROR: RuntimeError: rank 1 was told to fail/);
    expect(peer.of(id, 'result')).toBeUndefined();
    const next = uid('after');
    peer.run(runItem(driver.scriptPackage, 'dist', next, 'gang.py', {}));
    const res = (await settled(next)) as unknown as { value: GangResult };
    expect(res.value.sum).toBe(3);
    expect(res.value.setup.token).not.toBe(token); // rebuilt: setup() ran again
    token = res.value.setup.token;
  });

  it('kill -9 of one rank\'s actor fails the task with GANG_RANK_FAILED; the gang is rebuilt for the next task', async () => {
    const pidDir = mkdtempSync(join(tmpdir(), 'gang-pids-'));
    const id = uid('kill9');
    peer.run(runItem(driver.scriptPackage, 'dist', id, 'gang.py', { pid_dir: pidDir, sleep: 600 }));
    const pid = await until('rank 1 pid', async () => {
      try {
        return Number(readFileSync(join(pidDir, 'rank1'), 'utf8')) || undefined;
      } catch {
        return undefined;
      }
    }, 240_000, 50);
    process.kill(pid, 'SIGKILL');
    const err = await settled(id, 60_000);
    expect(err).toMatchObject({ code: 'GANG_RANK_FAILED' });
    expect((err as { message: string }).message).toMatch(/rank 1's actor died/);
    const next = uid('rebuilt');
    peer.run(runItem(driver.scriptPackage, 'dist', next, 'gang.py', {}));
    const res = (await settled(next)) as unknown as { value: GangResult };
    expect(res.value).toMatchObject({ sum: 3, world: 2 });
    expect(res.value.setup.token).not.toBe(token);
  });
});
