/**
 * S3ArtifactStore against a real S3 endpoint (s3rver): the conformance suite, what is
 * specific to S3 (keys under the prefix, metadata on the object), and a whole server with
 * `artifacts: {kind: 's3'}` serving a generated video's bytes from S3 with Range requests.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../../src/artifacts/s3/s3-artifact-store.ts';
import { api } from '../../helpers/server-process.ts';
import { download, fakeModel, finished, generate, startVideoServer, type VideoServer } from '../video/helpers.ts';
import { artifactStoreConformance } from './conformance.ts';
import { S3_CREDENTIALS, startS3, type TestS3 } from './s3-helpers.ts';

let bucketNo = 0;
const makeStore = async (prefix: string) => {
  const s3 = await startS3();
  const bucket = `lakeray-test-${bucketNo++}`;
  await s3.createBucket(bucket);
  const staging = mkdtempSync(join(tmpdir(), 'lakeray-s3-staging-'));
  const store = await new S3ArtifactStore({
    bucket,
    prefix,
    stagingRoot: staging,
    client: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDENTIALS },
  }).init();
  return {
    s3,
    bucket,
    store,
    close: async () => {
      store.client.destroy();
      await s3.close();
      rmSync(staging, { recursive: true, force: true });
    },
  };
};

artifactStoreConformance('s3 (s3rver)', () => makeStore(''));
artifactStoreConformance('s3 with a prefix', () => makeStore('lakeray/artifacts/'));

describe('S3ArtifactStore on S3', () => {
  let m: Awaited<ReturnType<typeof makeStore>>;
  beforeAll(async () => {
    m = await makeStore('pre/');
  });
  afterAll(async () => {
    await m?.close();
  });

  it('keeps an artifact at <prefix><task_id>/<name>, with its type and creation time on the object', async () => {
    const dir = m.store.stagingDir('t_keys');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'x'), 'hello');
    const info = await m.store.ingest('t_keys', { path: join(dir, 'x'), name: 'hello.txt' });
    const list = await m.s3.client.send(new ListObjectsV2Command({ Bucket: m.bucket }));
    expect(list.Contents?.map((o) => o.Key)).toEqual(['pre/t_keys/hello.txt']);
    const head = await m.s3.client.send(new HeadObjectCommand({ Bucket: m.bucket, Key: 'pre/t_keys/hello.txt' }));
    expect(head.ContentType).toBe('text/plain; charset=utf-8');
    expect(head.ContentLength).toBe(5);
    expect(Number(head.Metadata?.['created-at'])).toBe(info.created_at);
    await m.store.deleteTask('t_keys');
    expect((await m.s3.client.send(new ListObjectsV2Command({ Bucket: m.bucket }))).Contents ?? []).toEqual([]);
  });
});

describe('a server with artifacts on S3', () => {
  let s3: TestS3;
  let s: VideoServer;
  const SIZE = 10_000;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket('videos');
    s = await startVideoServer({
      generation: { models: [fakeModel('fake', { params: { video_bytes: SIZE } })] },
      artifacts: {
        kind: 's3',
        bucket: 'videos',
        prefix: 'runs/',
        endpoint: s3.endpoint,
        force_path_style: true,
        access_key_id: S3_CREDENTIALS.accessKeyId,
        secret_access_key: S3_CREDENTIALS.secretAccessKey,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await s?.close();
    await s3?.close();
  });

  it('stores a generated video in the bucket and serves ranges of it from there', async () => {
    const r = await generate(s, { prompt: 'to s3' });
    expect(r.status).toBeLessThan(300);
    const id = r.body.task_id as string;
    expect((await finished(s, id)).status).toBe('SUCCEEDED');

    const keys = (await s3.client.send(new ListObjectsV2Command({ Bucket: 'videos' }))).Contents?.map((o) => o.Key).sort();
    expect(keys).toEqual([`runs/${id}/cover.png`, `runs/${id}/params.json`, `runs/${id}/video.mp4`]);
    const obj = await s3.client.send(new GetObjectCommand({ Bucket: 'videos', Key: `runs/${id}/video.mp4` }));
    const video = Buffer.from(await obj.Body!.transformToByteArray());
    expect(video.length).toBe(SIZE);

    const list = (await api(s.url, 'GET', `/api/v1/tasks/${id}/artifacts`)).body.artifacts;
    expect(list.map((a: { name: string }) => a.name)).toEqual(['video.mp4', 'cover.png', 'params.json']);

    const url = `${s.url}/api/v1/tasks/${id}/artifacts/video.mp4`;
    const ranged = await download(url, { range: 'bytes=4000-4999' });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-type']).toBe('video/mp4');
    expect(ranged.headers['content-range']).toBe(`bytes 4000-4999/${SIZE}`);
    expect(ranged.body.equals(video.subarray(4000, 5000))).toBe(true);
    const last = await download(url, { range: 'bytes=-1' });
    expect(last.status).toBe(206);
    expect(last.body.equals(video.subarray(SIZE - 1))).toBe(true);
    const whole = await download(url);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(video)).toBe(true);
    expect((await download(`${s.url}/api/v1/tasks/${id}/artifacts/nope.mp4`)).status).toBe(404);

    // The staging dir (local) is gone; deleting the task empties its prefix.
    expect(existsSync(join(s.state, 'artifacts-staging', id))).toBe(false);
    expect((await api(s.url, 'DELETE', `/api/v1/tasks/${id}`)).status).toBe(204);
    expect((await s3.client.send(new ListObjectsV2Command({ Bucket: 'videos', Prefix: `runs/${id}/` }))).Contents ?? []).toEqual([]);
  }, 60_000);
});
