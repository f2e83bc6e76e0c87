/**
 * The ArtifactStore contract (src/artifacts/artifact-store.ts), run against every
 * implementation: local.test.ts (file system) and s3.test.ts (S3ArtifactStore on s3rver).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../../src/artifacts/artifact-store.ts';

export interface StoreUnderTest {
  store: ArtifactStore;
  close?: () => Promise<void>;
}

const bytes = async (r: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function artifactStoreConformance(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`ArtifactStore conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: ArtifactStore;
    let outside: string;
    let n = 0;
    const newTask = () => `t_${name.replace(/\W/g, '')}_${Date.now().toString(36)}_${n++}`;
    /** Writes a file into the task's staging dir (as a script would) and returns its path. */
    const stage = (taskId: string, file: string, content: Buffer | string): string => {
      const dir = store.stagingDir(taskId);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, file);
      writeFileSync(path, content);
      return path;
    };

    beforeAll(async () => {
      sut = await make();
      store = sut.store;
      outside = mkdtempSync(join(tmpdir(), 'lakeray-artifacts-outside-'));
    }, 30_000);

    afterAll(async () => {
      await sut?.close?.();
    });

    it('moves a staged file into the store, whole, with its type and size', async () => {
      const t = newTask();
      const content = randomBytes(5000);
      const path = stage(t, 'out.mp4', content);
      const before = Date.now();
      const info = await store.ingest(t, { path, name: 'video.mp4' });
      expect(info).toEqual({ name: 'video.mp4', content_type: 'video/mp4', size: 5000, created_at: expect.any(Number) });
      expect(info.created_at).toBeGreaterThanOrEqual(before - 1000);
      expect(existsSync(path)).toBe(false);
      expect(await store.stat(t, 'video.mp4')).toEqual(info);
      expect((await bytes(await store.read(t, 'video.mp4'))).equals(content)).toBe(true);
    });

    it('copies a file from outside the staging dir (the original stays)', async () => {
      const t = newTask();
      const path = join(outside, `${t}.txt`);
      writeFileSync(path, 'kept');
      const info = await store.ingest(t, { path, name: 'copy.txt' });
      expect(info.size).toBe(4);
      expect(info.content_type).toBe('text/plain; charset=utf-8');
      expect(readFileSync(path, 'utf8')).toBe('kept');
      expect((await bytes(await store.read(t, 'copy.txt'))).toString()).toBe('kept');
    });

    it('keeps a well-formed content type and guesses one for a malformed one', async () => {
      const t = newTask();
      expect((await store.ingest(t, { path: stage(t, 'a', 'x'), name: 'a.bin', content_type: 'application/x-custom' })).content_type).toBe('application/x-custom');
      expect((await store.ingest(t, { path: stage(t, 'b', 'x'), name: 'b.png', content_type: 'not a type\r\nX: y' })).content_type).toBe('image/png');
      expect((await store.stat(t, 'a.bin'))?.content_type).toBe('application/x-custom');
      expect((await store.stat(t, 'b.png'))?.content_type).toBe('image/png');
    });

    it('replaces an artifact reported again under the same name', async () => {
      const t = newTask();
      await store.ingest(t, { path: stage(t, 'f1', 'version 1'), name: 'same.txt' });
      await store.ingest(t, { path: stage(t, 'f2', 'version two'), name: 'same.txt' });
      const list = await store.list(t);
      expect(list.map((a) => a.name)).toEqual(['same.txt']);
      expect(list[0]?.size).toBe('version two'.length);
      expect((await bytes(await store.read(t, 'same.txt'))).toString()).toBe('version two');
    });

    it('lists in the order reported (then by name), each with its metadata', async () => {
      const t = newTask();
      for (const [file, content] of [['video.mp4', 'vvvv'], ['cover.png', 'cc'], ['params.json', '{}']] as const) {
        await store.ingest(t, { path: stage(t, file, content), name: file });
        await sleep(15);
      }
      const list = await store.list(t);
      expect(list.map((a) => [a.name, a.content_type, a.size])).toEqual([
        ['video.mp4', 'video/mp4', 4],
        ['cover.png', 'image/png', 2],
        ['params.json', 'application/json', 2],
      ]);
      expect(list[0]!.created_at).toBeLessThan(list[2]!.created_at);
    });

    it('keeps tasks apart, even when one id is a prefix of another', async () => {
      const a = newTask();
      const b = `${a}0`;
      await store.ingest(a, { path: stage(a, 'x', 'a'), name: 'x.txt' });
      await store.ingest(b, { path: stage(b, 'y', 'b'), name: 'y.txt' });
      expect((await store.list(a)).map((x) => x.name)).toEqual(['x.txt']);
      expect((await store.list(b)).map((x) => x.name)).toEqual(['y.txt']);
      expect(await store.stat(b, 'x.txt')).toBeNull();
      await store.deleteTask(a);
      expect((await store.list(b)).map((x) => x.name)).toEqual(['y.txt']);
    });

    it('ingests several artifacts of one task at once', async () => {
      const t = newTask();
      const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt'];
      await Promise.all(names.map((f) => store.ingest(t, { path: stage(t, f, f), name: f })));
      expect((await store.list(t)).map((a) => a.name).sort()).toEqual(names);
    });

    it('answers stat with null and list with [] for what does not exist', async () => {
      const t = newTask();
      expect(await store.list(t)).toEqual([]);
      expect(await store.stat(t, 'nope.mp4')).toBeNull();
      await store.ingest(t, { path: stage(t, 'f', 'x'), name: 'here.txt' });
      expect(await store.stat(t, 'nope.mp4')).toBeNull();
      expect(await store.stat(t, '.manifest.json')).toBeNull();
      expect(await store.stat(t, '../here.txt')).toBeNull();
    });

    describe('ranged reads', () => {
      const t = newTask();
      const content = randomBytes(10_000);
      beforeAll(async () => {
        await store.ingest(t, { path: stage(t, 'v', content), name: 'video.mp4' });
      });
      it.each([
        ['the first bytes', 0, 99],
        ['a middle range', 4000, 4999],
        ['the last byte', 9999, 9999],
        ['the first byte', 0, 0],
        ['everything', 0, 9999],
      ])('%s', async (_what, start, end) => {
        const got = await bytes(await store.read(t, 'video.mp4', { start, end }));
        expect(got.length).toBe(end - start + 1);
        expect(got.equals(content.subarray(start, end + 1))).toBe(true);
      });
      it('the whole file without a range', async () => {
        expect((await bytes(await store.read(t, 'video.mp4'))).equals(content)).toBe(true);
      });
    });

    it('rejects a read of a missing artifact (ENOENT), an invalid name and an unknown task', async () => {
      const t = newTask();
      await store.ingest(t, { path: stage(t, 'f', 'x'), name: 'here.txt' });
      await expect(store.read(t, 'nope.txt')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(store.read(t, '.manifest.json')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(store.read(t, '../../etc/passwd')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(store.read(newTask(), 'here.txt')).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('makes a safe single-segment name of whatever a script reports', async () => {
      const t = newTask();
      expect((await store.ingest(t, { path: stage(t, 'f0', 'e'), name: '../../escape.txt' })).name).toBe('escape.txt');
      expect((await store.ingest(t, { path: stage(t, 'f1', 'h'), name: '.hidden' })).name).toBe('hidden');
      expect((await store.ingest(t, { path: stage(t, 'f2', 'p'), name: '' })).name).toBe('f2');
      expect((await store.list(t)).map((a) => a.name).sort()).toEqual(['escape.txt', 'f2', 'hidden']);
    });

    it('refuses a directory, a missing file and a bad task id', async () => {
      const t = newTask();
      const dir = join(store.stagingDir(t), 'a_dir');
      mkdirSync(dir, { recursive: true });
      await expect(store.ingest(t, { path: dir, name: 'a_dir' })).rejects.toThrow(/a_dir/);
      await expect(store.ingest(t, { path: join(outside, 'missing.txt'), name: 'm.txt' })).rejects.toThrow();
      expect(await store.list(t)).toEqual([]);
      expect(() => store.stagingDir('../etc')).toThrow();
    });

    it('clearStaging removes the files the task did not report, and is idempotent', async () => {
      const t = newTask();
      const kept = stage(t, 'reported.txt', 'r');
      stage(t, 'left-over.bin', 'junk');
      mkdirSync(join(store.stagingDir(t), 'sub'));
      writeFileSync(join(store.stagingDir(t), 'sub', 'deep.txt'), 'd');
      await store.ingest(t, { path: kept, name: 'reported.txt' });
      await store.clearStaging(t);
      expect(existsSync(store.stagingDir(t))).toBe(false);
      await store.clearStaging(t);
      await store.clearStaging(newTask());
      expect((await bytes(await store.read(t, 'reported.txt'))).toString()).toBe('r');
    });

    it('deleteTask removes the artifacts and the staging dir, and is idempotent', async () => {
      const t = newTask();
      await store.ingest(t, { path: stage(t, 'a', 'a'), name: 'a.txt' });
      await store.ingest(t, { path: stage(t, 'b', 'b'), name: 'b.txt' });
      stage(t, 'unreported', 'u');
      await store.deleteTask(t);
      expect(await store.list(t)).toEqual([]);
      expect(await store.stat(t, 'a.txt')).toBeNull();
      await expect(store.read(t, 'a.txt')).rejects.toMatchObject({ code: 'ENOENT' });
      expect(existsSync(store.stagingDir(t))).toBe(false);
      await store.deleteTask(t);
      await store.deleteTask(newTask());
    });
  });
}
