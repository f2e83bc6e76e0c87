/**
 * The Ray Jobs REST client against the run's real Ray head (test/helpers/ray-head.ts): every
 * behaviour of CONTRACTS.md §1 the executor will rely on.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobLogFollower } from '../../../src/executors/ray/job-log-follower.ts';
import { RayJobsClient, type RayJobDetails, type RayJobStatus } from '../../../src/executors/ray/jobs-client.ts';
import { PackageUploader, packWorkingDir } from '../../../src/executors/ray/package.ts';
import { RayApiError } from '../../../src/executors/ray/ray-api-error.ts';
import { rayHead, TEST_RESOURCE, type RayHead } from '../../helpers/ray-head.ts';
import { freePort, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

let head: RayHead;
let ray: RayJobsClient;
const uid = () => `lakeray-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  head = await rayHead();
  ray = new RayJobsClient({ address: head.url, timeoutMs: 60_000 });
  console.info(`[measure] ray head ready in ${head.startMs} ms (started by this run's first Ray test file)`);
}, 900_000);
afterAll(() => ray?.close());
// Jobs take seconds on a quiet machine and minutes on this one when other test runs load it.

/** Polls the job until `done(status)`; returns it and when each status was first seen (ms after `since`). */
async function follow(id: string, done: (s: RayJobStatus) => boolean, since: number, ms = 120_000) {
  const seen: Partial<Record<RayJobStatus, number>> = {};
  const job = await until(
    `job ${id}`,
    async () => {
      const j = await ray.get(id);
      if (j && seen[j.status] === undefined) seen[j.status] = Math.round(performance.now() - since);
      return j && done(j.status) ? j : undefined;
    },
    ms,
    100,
  );
  return { job, seen };
}

const rayError = async (p: Promise<unknown>): Promise<RayApiError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RayApiError);
  return err as RayApiError;
};

describe('Ray Jobs client on a real head', { timeout: 300_000 }, () => {
  it('reads the version', async () => {
    const v = await ray.version();
    expect(v.version).toBe('4');
    expect(v.ray_version).toBe('2.58.0');
    expect(v.session_name).toMatch(/^session_/);
  });

  it('runs a job from a working_dir package with entrypoint resources to SUCCEEDED, its log read incrementally', async () => {
    const dir = tempDir('lakeray-ray-job-');
    writeFileSync(join(dir, 'payload.txt'), 'hello from the package\n');
    writeFileSync(
      join(dir, 'job.py'),
      [
        'import time',
        'print("payload:", open("payload.txt").read().strip(), flush=True)',
        'for i in range(4):',
        '    print(f"tick {i}", flush=True)',
        '    time.sleep(1.0)',
        'print("done", end="", flush=True)  # a last line without a newline',
      ].join('\n'),
    );
    const pkg = await packWorkingDir(dir);
    await new PackageUploader(ray).ensure(pkg);

    const id = uid();
    const t0 = performance.now();
    const sub = await ray.submit({
      entrypoint: 'python job.py',
      submission_id: id,
      runtime_env: { working_dir: pkg.uri, env_vars: { LAKERAY_TEST: '1' } },
      metadata: { lakeray_task: 'test' },
      entrypoint_num_cpus: 0.5,
      entrypoint_memory: 64 * 1024 * 1024,
      entrypoint_resources: { [TEST_RESOURCE]: 1 },
    });
    const submitMs = Math.round(performance.now() - t0);
    expect(sub).toEqual({ submission_id: id, created: true });

    // Read the log while the job runs: each read returns only lines not returned before.
    const follower = new JobLogFollower(ray, id);
    const reads: string[][] = [];
    let job: RayJobDetails | null = null;
    const seen: Partial<Record<RayJobStatus, number>> = {};
    await until(
      'the job to finish',
      async () => {
        job = await ray.get(id);
        if (job && seen[job.status] === undefined) seen[job.status] = Math.round(performance.now() - t0);
        const chunk = await follower.read();
        if (chunk.lines.length > 0) reads.push(chunk.lines);
        return job && ['SUCCEEDED', 'FAILED', 'STOPPED'].includes(job.status);
      },
      120_000,
      200,
    );
    const last = await follower.readFinal();
    if (last.lines.length > 0) reads.push(last.lines);

    const j = job as unknown as RayJobDetails;
    expect(j.status, j.message ?? '').toBe('SUCCEEDED');
    expect(j.submission_id).toBe(id);
    expect(j.metadata).toEqual({ lakeray_task: 'test' });
    expect(j.runtime_env?.working_dir).toBe(pkg.uri);
    expect(j.driver_exit_code).toBe(0);
    const lines = reads.flat();
    expect(lines).toContain('payload: hello from the package');
    expect(lines.filter((l) => l.startsWith('tick '))).toEqual(['tick 0', 'tick 1', 'tick 2', 'tick 3']);
    expect(lines.at(-1)).toBe('done');
    // Incremental: the ticks came in more than one read, and together the reads are the whole log once.
    expect(reads.filter((r) => r.some((l) => l.startsWith('tick '))).length).toBeGreaterThan(1);
    const whole = await ray.logs(id);
    expect(lines.join('\n')).toBe(whole.replace(/\r/g, ''));
    expect(follower.offset).toBe(whole.length);
    console.info(
      `[measure] job: POST ${submitMs} ms; first seen RUNNING at ${seen.RUNNING ?? '-'} ms, SUCCEEDED at ${seen.SUCCEEDED} ms ` +
        `after submit (Ray: start→end ${j.end_time! - j.start_time!} ms, job sleeps 4 s)`,
    );

    // A new follower resuming at the offset has nothing more to say.
    expect((await new JobLogFollower(ray, id, follower.offset).readFinal()).lines).toEqual([]);
  });

  it('a submission id that exists attaches to its job: concurrent and repeated submits make one job', async () => {
    const id = uid();
    const req = { entrypoint: 'python -c "print(42)"', submission_id: id };
    const results = await Promise.all([ray.submit(req), ray.submit(req), ray.submit(req)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.every((r) => r.submission_id === id)).toBe(true);
    expect(await ray.submit(req)).toEqual({ submission_id: id, created: false });
    const mine = (await ray.list()).filter((j) => j.submission_id === id);
    expect(mine).toHaveLength(1);
    await follow(id, (s) => s === 'SUCCEEDED', performance.now());
    expect(await ray.submit(req)).toEqual({ submission_id: id, created: false }); // terminal: still attach
  });

  it('stops a running job (STOPPED), refuses to delete it before that, deletes it after', async () => {
    const id = uid();
    await ray.submit({ entrypoint: 'python -c "import time; print(\'up\', flush=True); time.sleep(600)"', submission_id: id });
    await follow(id, (s) => s === 'RUNNING', performance.now());

    const early = await rayError(ray.delete(id));
    expect(early.kind).toBe('not_terminal');
    expect(early.retryable).toBe(false);
    expect(early.status).toBe(500);
    expect(early.rayText).toContain('non-terminal state');

    const t0 = performance.now();
    expect(await ray.stop(id)).toBe(true);
    const { job } = await follow(id, (s) => s !== 'RUNNING', t0, 60_000);
    expect(job.status).toBe('STOPPED');
    console.info(`[measure] stop → STOPPED seen after ${Math.round(performance.now() - t0)} ms`);
    // Over: Ray answers `stopped: false` once the job's supervisor actor is gone (while it
    // lingers after STOPPED, Ray's stop_job still answers true: it only asks the actor).
    await until('a stop of the stopped job to answer false', async () => (await ray.stop(id)) === false, 30_000, 200);

    expect(await ray.delete(id)).toBe(true);
    expect(await ray.get(id)).toBeNull();
  });

  it('unknown ids: get is null, stop/delete/logs are not_found (404, not retryable, Ray text kept)', async () => {
    const id = uid();
    expect(await ray.get(id)).toBeNull();
    for (const call of [() => ray.stop(id), () => ray.delete(id), () => ray.logs(id)]) {
      const err = await rayError(call());
      expect(err.kind).toBe('not_found');
      expect(err.status).toBe(404);
      expect(err.retryable).toBe(false);
      expect(err.rayText).toContain(`Job ${id} does not exist`);
    }
  });

  it('sends only the fields Ray knows, and refuses a fractional entrypoint_memory before sending', async () => {
    const id = uid();
    // An unknown key would be a 400 from Ray; the client leaves it out.
    const req = { entrypoint: 'python -c "print(1)"', submission_id: id, priority: 5 } as Parameters<RayJobsClient['submit']>[0];
    expect((await ray.submit(req)).created).toBe(true);
    const err = await rayError(ray.submit({ entrypoint: 'echo', submission_id: uid(), entrypoint_memory: 1.5 }));
    expect(err.kind).toBe('invalid_request');
    expect(err.retryable).toBe(false);
    await follow(id, (s) => s === 'SUCCEEDED', performance.now());
  });

  it('a 4xx from Ray is rejected, not retryable, with Ray text', async () => {
    // runtime_env must be a dict: a caller's bug the client passes on, and Ray refuses (400).
    const err = await rayError(ray.submit({ entrypoint: 'echo', submission_id: uid(), runtime_env: 'not a dict' as unknown as Record<string, unknown> }));
    expect(err.kind).toBe('rejected');
    expect(err.status).toBe(400);
    expect(err.retryable).toBe(false);
    expect(err.rayText).toBeTruthy();
  });

  it('Node’s global fetch is refused (405) for a POST that undici.request gets through', async () => {
    const res = await fetch(`${head.url}/api/jobs/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"entrypoint":"echo"}' });
    expect(res.status).toBe(405);
    expect(await res.text()).toContain('not allowed for browser traffic');
  });
});

describe('Ray Jobs client: transport failures and the wire', () => {
  it('connection refused is unreachable and retryable', async () => {
    const client = new RayJobsClient({ address: `http://127.0.0.1:${await freePort()}` });
    const err = await rayError(client.version());
    expect(err.kind).toBe('unreachable');
    expect(err.retryable).toBe(true);
    await client.close();
  });

  it('a head that accepts but never answers is a timeout within the deadline, retryable', async () => {
    const held: Socket[] = [];
    const silent: Server = createTcpServer((sock) => held.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const client = new RayJobsClient({ address: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, timeoutMs: 300 });
    const t0 = performance.now();
    const err = await rayError(client.list());
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(err.kind).toBe('timeout');
    expect(err.retryable).toBe(true);
    await client.close();
    for (const sock of held) sock.destroy();
    silent.close();
  });

  it('sends the bearer token, no browser-looking header, and the trailing slash of POST /api/jobs/', async () => {
    const seen: { url?: string; headers?: Record<string, unknown>; body?: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push({ url: req.url, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"job_id":"x","submission_id":"x"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const client = new RayJobsClient({ address: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, token: 's3cret' });
    await client.submit({ entrypoint: 'echo', submission_id: 'x', entrypoint_num_cpus: 1 });
    await client.close();
    server.close();
    const [req] = seen;
    expect(req?.url).toBe('/api/jobs/');
    expect(req?.headers?.authorization).toBe('Bearer s3cret');
    expect(Object.keys(req?.headers ?? {}).filter((h) => /^(sec-fetch-|origin|referer)/.test(h))).toEqual([]);
    expect(String(req?.headers?.['user-agent'])).not.toMatch(/^Mozilla/);
    expect(JSON.parse(req?.body ?? '')).toEqual({ entrypoint: 'echo', submission_id: 'x', entrypoint_num_cpus: 1 });
  });
});
