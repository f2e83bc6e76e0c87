/**
 * The test suite's Ray head never outlives its run: here a whole vitest run (its own global
 * setup, one file holding the head) is killed with SIGKILL to its process group — what a CI
 * timeout does, when no teardown code can run — and every process of its head must be gone
 * soon after, stopped by the watchdog started with the head. (A run that ends, passing or
 * failing, stops its head in the global teardown; the watchdog is the net under that too.)
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RayHead } from '../../helpers/ray-head.ts';
import { ROOT, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

/** PIDs of the processes of the head whose temp dir is `rayTmp` (the same rule as ray-down.sh). */
function headProcesses(rayTmp: string): number[] {
  const marker = `RAY_UP_HEAD=${rayTmp}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const state = /\) (\S)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1];
      if (state !== 'Z' && (cmd.includes(`${rayTmp}/`) || cmd.includes(`${rayTmp} `) || env.includes(marker))) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

describe('the suite’s Ray head', () => {
  it('is stopped when its vitest run is SIGKILLed (process group and all)', async () => {
    const info = join(tempDir('lakeray-head-info-'), 'head.json');
    const run = spawn(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/integration/ray/fixtures/vitest.config.ts'], {
      cwd: ROOT,
      env: { ...process.env, LAKERAY_HEAD_INFO: info },
      detached: true, // a process group of its own, killed whole below
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    run.stdout.on('data', (d) => (output += d));
    run.stderr.on('data', (d) => (output += d));
    const exited = new Promise<void>((r) => run.once('exit', () => r()));

    const head = await until(
      'the inner run to start its head',
      async () => (existsSync(info) ? (JSON.parse(readFileSync(info, 'utf8')) as RayHead) : run.exitCode !== null ? Promise.reject(new Error(output)) : undefined),
      600_000,
      250,
    );
    const rayTmp = head.rayTmp;
    expect(headProcesses(rayTmp).length).toBeGreaterThan(5); // gcs, raylet, dashboard, agents, …

    process.kill(-run.pid!, 'SIGKILL');
    await exited;
    const t0 = performance.now();
    await until('every process of the head to be gone', async () => headProcesses(rayTmp).length === 0, 90_000, 250);
    console.info(`[measure] head of a SIGKILLed run gone ${Math.round(performance.now() - t0)} ms after the kill`);
    await expect(fetch(`${head.url}/api/version`)).rejects.toThrow();
    await until('its temp dir removed', async () => !existsSync(rayTmp), 10_000);
  }, 900_000);
});
