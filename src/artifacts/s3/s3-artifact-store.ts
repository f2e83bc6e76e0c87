/**
 * ArtifactStore on S3 (or anything speaking its API: MinIO, R2, Ceph RGW…):
 *
 *   s3://<bucket>/<prefix><task_id>/<name>    the artifacts; Content-Type and
 *                                             x-amz-meta-created-at kept on the object
 *   <staging root>/<task_id>/                 LAKERAY_WORK_DIR of a running task (local disk)
 *
 * Scripts write to a local staging dir; `ingest` uploads the file with one PutObject (a file
 * stream with its length) and only then removes the staged file. An S3 PUT is atomic: a
 * reader sees the previous object or the whole new one, never half of it, so the contract's
 * "visible only whole" holds without temporary names. `read` is a ranged GetObject.
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  type ArtifactInfo,
  type ArtifactSource,
  type ArtifactStore,
  artifactContentType,
  artifactName,
  type ByteRange,
  contentTypeOf,
  isArtifactName,
  isSafeId,
} from '../artifact-store.ts';
import { removeStagingDir } from '../staging.ts';

export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Prepended to every key as is ('' or e.g. 'lakeray/artifacts/'). */
  prefix?: string;
  /** Local directory holding the tasks' staging dirs. */
  stagingRoot: string;
  /** A ready client, or the configuration of one (endpoint, region, credentials, forcePathStyle). */
  client: S3Client | S3ClientConfig;
}

const CREATED_AT = 'created-at';

const isInside = (parent: string, child: string): boolean => {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
};


/** True for the SDK's "no such object" errors (GetObject: NoSuchKey; HeadObject: NotFound / 404). */
const isMissing = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
};

/** `take` bytes of `source` after skipping `skip` (the rest of the source is not read). */
function slice(source: Readable, skip: number, take: number): Readable {
  let pos = 0;
  const out = new PassThrough();
  source.on('error', (err) => out.destroy(err));
  source.on('data', (chunk: Buffer) => {
    const from = Math.max(0, skip - pos);
    const to = Math.min(chunk.length, skip + take - pos);
    pos += chunk.length;
    if (to > from && !out.write(chunk.subarray(from, to))) source.pause();
    if (pos >= skip + take) {
      source.destroy();
      out.end();
    }
  });
  out.on('drain', () => source.resume());
  source.on('end', () => out.end());
  out.on('close', () => source.destroy());
  return out;
}

const missing = (taskId: string, name: string): Error => Object.assign(new Error(`no artifact ${name} of task ${taskId}`), { code: 'ENOENT' });

export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly stagingRoot: string;

  constructor(opts: S3ArtifactStoreOptions) {
    // Checksums only where an operation requires them: the SDK's default sends streamed
    // uploads aws-chunked with a trailing CRC, which many S3-compatible servers store verbatim.
    this.client =
      opts.client instanceof S3Client
        ? opts.client
        : new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...opts.client });
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
    this.stagingRoot = resolve(opts.stagingRoot);
  }

  /** Creates an empty staging root (once, at start: what a previous server's tasks left there is dropped). */
  async init(): Promise<this> {
    await rm(this.stagingRoot, { recursive: true, force: true });
    await mkdir(this.stagingRoot, { recursive: true });
    return this;
  }

  stagingDir(taskId: string): string {
    return join(this.stagingRoot, this.checkedId(taskId));
  }

  async ingest(taskId: string, source: ArtifactSource): Promise<ArtifactInfo> {
    const key = this.taskPrefix(taskId);
    const name = artifactName(source.name, source.path);
    const from = resolve(source.path);
    const info = await lstat(from);
    const link = info.isSymbolicLink();
    const target = link ? await stat(from) : info;
    if (!target.isFile()) throw new Error(`${source.path} is not a regular file`);
    const content_type = artifactContentType(name, source.content_type);
    const created_at = Date.now();
    const body = createReadStream(from);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key + name,
          Body: body,
          ContentLength: target.size,
          ContentType: content_type,
          Metadata: { [CREATED_AT]: String(created_at) },
        }),
      );
    } finally {
      body.destroy();
    }
    // Uploaded whole: only now does the staged file go (a file from elsewhere stays).
    if (!link && isInside(this.stagingDir(taskId), from)) await rm(from, { force: true });
    return { name, content_type, size: target.size, created_at };
  }

  async list(taskId: string): Promise<ArtifactInfo[]> {
    const prefix = this.taskPrefix(taskId);
    const names: string[] = [];
    for await (const key of this.keys(prefix)) {
      const name = key.slice(prefix.length);
      if (isArtifactName(name)) names.push(name);
    }
    const out = await Promise.all(names.map((name) => this.stat(taskId, name)));
    return out.filter((a): a is ArtifactInfo => a !== null).sort((a, b) => a.created_at - b.created_at || a.name.localeCompare(b.name));
  }

  async stat(taskId: string, name: string): Promise<ArtifactInfo | null> {
    if (!isArtifactName(name)) return null;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.taskPrefix(taskId) + name }));
      const created = Number(head.Metadata?.[CREATED_AT]);
      return {
        name,
        content_type: head.ContentType ?? contentTypeOf(name),
        size: head.ContentLength ?? 0,
        created_at: Number.isFinite(created) && created > 0 ? created : (head.LastModified?.getTime() ?? 0),
      };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(taskId: string, name: string, range?: ByteRange): Promise<Readable> {
    if (!isArtifactName(name)) throw missing(taskId, name);
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.taskPrefix(taskId) + name, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      if (!res.Body) throw missing(taskId, name);
      // In Node the body is an http.IncomingMessage (a Readable) with the SDK's helpers mixed in.
      const body = res.Body as Readable;
      if (!range) return body;
      // Some S3-compatible servers answer a range with more than it asked (the whole object, or
      // bytes=0-0 as 0-end): cut what came back to the range asked for.
      const sent = /^bytes (\d+)-(\d+)\//.exec(res.ContentRange ?? '');
      const from = sent ? Number(sent[1]) : 0;
      const to = sent ? Number(sent[2]) : Infinity;
      return from === range.start && to <= range.end ? body : slice(body, range.start - from, range.end - range.start + 1);
    } catch (err) {
      if (isMissing(err)) throw missing(taskId, name);
      throw err;
    }
  }

  async clearStaging(taskId: string): Promise<void> {
    await removeStagingDir(this.stagingDir(taskId));
  }

  async deleteTask(taskId: string): Promise<void> {
    const prefix = this.taskPrefix(taskId);
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const res = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      batch = [];
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`could not delete ${failed.length} artifact(s) of ${taskId}: ${failed[0]?.Code} ${failed[0]?.Message ?? ''}`);
    };
    for await (const key of this.keys(prefix)) {
      batch.push(key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    await this.clearStaging(taskId);
  }

  private taskPrefix(taskId: string): string {
    return `${this.prefix}${this.checkedId(taskId)}/`;
  }

  private checkedId(taskId: string): string {
    if (!isSafeId(taskId)) throw Object.assign(new Error(`bad task id ${JSON.stringify(taskId)}`), { code: 'ENOENT' });
    return taskId;
  }

  /** Every key under `prefix` (all pages). */
  private async *keys(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}
