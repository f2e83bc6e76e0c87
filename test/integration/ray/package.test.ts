/**
 * working_dir packages on the run's real Ray head: uploaded once per content, a new name for
 * new content, and a job that runs from the package sees exactly that content.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RayJobsClient } from '../../../src/executors/ray/jobs-client.ts';
import { PackageUploader, packWorkingDir, type WorkingDirPackage } from '../../../src/executors/ray/package.ts';
import { rayHead } from '../../helpers/ray-head.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

let ray: RayJobsClient;

beforeAll(async () => {
  ray = new RayJobsClient({ address: (await rayHead()).url, timeoutMs: 60_000 });
}, 900_000);
afterAll(() => ray?.close());

/** The real client, counting what reaches the head. */
function counting(client: RayJobsClient) {
  const calls = { exists: 0, upload: 0 };
  return {
    calls,
    packageExists: (name: string) => (calls.exists++, client.packageExists(name)),
    uploadPackage: (name: string, zip: Uint8Array) => (calls.upload++, client.uploadPackage(name, zip)),
  };
}

/** A script folder whose payload makes its content unique to this run. */
function scriptDir(payload: string): string {
  const dir = tempDir('lakeray-ray-pkg-');
  writeFileSync(join(dir, 'show.py'), 'print("payload:", open("payload.txt").read(), flush=True)\n');
  writeFileSync(join(dir, 'payload.txt'), payload);
  // Some bulk, so the upload time means something: 2 MiB of incompressible bytes.
  writeFileSync(join(dir, 'weights.bin'), randomBytes(2 * 1024 * 1024));
  return dir;
}

async function runFrom(pkg: WorkingDirPackage): Promise<string> {
  const id = `lakeray-pkg-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  await ray.submit({ entrypoint: 'python show.py', submission_id: id, runtime_env: { working_dir: pkg.uri } });
  const job = await until(`job ${id}`, async () => {
    const j = await ray.get(id);
    return j && ['SUCCEEDED', 'FAILED', 'STOPPED'].includes(j.status) ? j : undefined;
  }, 120_000, 200);
  expect(job.status, job.message ?? '').toBe('SUCCEEDED');
  return (await ray.logs(id)).split('\n').find((l) => l.startsWith('payload:')) ?? '';
}

describe('working_dir packages on a real head', { timeout: 300_000 }, () => {
  it('uploads a content once: the same uploader skips it, a new uploader finds it on the head', async () => {
    const payload = `v1 ${Math.random()}`;
    const pkg = await packWorkingDir(scriptDir(payload));
    expect(pkg.uri).toBe(`gcs://${pkg.name}`);
    expect(pkg.name).toMatch(/^_ray_pkg_[0-9a-f]{64}\.zip$/);
    expect(await ray.packageExists(pkg.name)).toBe(false);

    const client = counting(ray);
    const uploader = new PackageUploader(client);
    const t0 = performance.now();
    expect(await uploader.ensure(pkg)).toEqual({ uri: pkg.uri, uploaded: true });
    const uploadMs = Math.round(performance.now() - t0);
    expect(client.calls).toEqual({ exists: 1, upload: 1 });
    expect(await ray.packageExists(pkg.name)).toBe(true);

    const t1 = performance.now();
    expect(await uploader.ensure(pkg)).toEqual({ uri: pkg.uri, uploaded: false });
    const cachedMs = performance.now() - t1;
    expect(client.calls).toEqual({ exists: 1, upload: 1 }); // not even asked

    const fresh = counting(ray);
    const t2 = performance.now();
    expect(await new PackageUploader(fresh).ensure(pkg)).toEqual({ uri: pkg.uri, uploaded: false });
    const checkMs = Math.round(performance.now() - t2);
    expect(fresh.calls).toEqual({ exists: 1, upload: 0 });

    // Past the trusted window the uploader asks again (renewing Ray's pin), still without sending.
    let now = Date.now();
    const clocked = counting(ray);
    const later = new PackageUploader(clocked, { now: () => now, trustMs: 1_000 });
    await later.ensure(pkg);
    now += 1_001;
    expect(await later.ensure(pkg)).toEqual({ uri: pkg.uri, uploaded: false });
    expect(clocked.calls).toEqual({ exists: 2, upload: 0 });

    expect(await runFrom(pkg)).toBe(`payload: ${payload}`);
    console.info(
      `[measure] package ${(pkg.zip.length / 1024 / 1024).toFixed(2)} MiB (${pkg.files} files): first ensure (GET+PUT) ${uploadMs} ms, ` +
        `cached ${cachedMs.toFixed(2)} ms, known to a new uploader (GET) ${checkMs} ms`,
    );
  });

  it('changed content is a new package, uploaded, and the job sees the new content', async () => {
    const dir = scriptDir('before');
    const before = await packWorkingDir(dir);
    writeFileSync(join(dir, 'payload.txt'), `after ${Math.random()}`);
    const after = await packWorkingDir(dir);
    expect(after.name).not.toBe(before.name);

    const client = counting(ray);
    const uploader = new PackageUploader(client);
    expect((await uploader.ensure(before)).uploaded).toBe(true);
    expect((await uploader.ensure(after)).uploaded).toBe(true);
    expect(client.calls.upload).toBe(2);
    expect(await runFrom(after)).toMatch(/^payload: after /);
  });

  it('concurrent ensures of one new package send it once', async () => {
    const pkg = await packWorkingDir(scriptDir(`concurrent ${Math.random()}`));
    const client = counting(ray);
    const uploader = new PackageUploader(client);
    const results = await Promise.all([uploader.ensure(pkg), uploader.ensure(pkg), uploader.ensure(pkg)]);
    expect(results.filter((r) => r.uploaded)).toHaveLength(1);
    expect(client.calls).toEqual({ exists: 1, upload: 1 });
  });
});
