/**
 * A Ray executor whose cluster does not answer (down, or not read yet right after the server
 * started) has no capacity it can vouch for: a task submitted to it is queued, not refused,
 * and waits until the cluster answers (docs/configuration.md "Named executors").
 */
import { expect, it } from 'vitest';
import { CALLER, newCluster, startServer } from '../engine/server.ts';
import { freePort, tempDir } from '../../helpers/server-process.ts';
import { openRayJobExecutor, reportFront } from './ray-job-fixture.ts';

it('a task for a Ray executor that cannot be reached is queued (201), not refused for want of capacity', async () => {
  const front = await reportFront();
  const ray = openRayJobExecutor(`http://127.0.0.1:${await freePort()}`, front, { name: 'farm' });
  await ray.refreshCapacity();
  expect(ray.health().ok).toBe(false);
  const server = await startServer(tempDir('lakeray-ray-down-'), newCluster(1), new Map([['farm', ray]]));
  try {
    const [made] = await server.engine.submit(CALLER, [{ script: 'echo.py', executor: 'farm', resources: { cpu: 2 } }]);
    await new Promise((r) => setTimeout(r, 300)); // a dispatch pass: the executor has no room while down
    const task = await server.engine.get(CALLER, made!.task.id);
    expect(task).toMatchObject({ status: 'pending', executor: 'farm' });
  } finally {
    await server.stop();
    await ray.close();
    await front.close();
  }
});
