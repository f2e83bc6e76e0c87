/**
 * ArtifactStore on the local file system:
 *
 *   <root>/<task_id>/<name>             the artifacts, each appearing whole (rename)
 *   <root>/<task_id>/.manifest.json     {name: {content_type, created_at}} (what a name alone cannot say)
 *   <root>/<task_id>/.tmp-*             copies in flight (renamed into place when complete)
 *   <root>/.staging/<task_id>/          LAKERAY_WORK_DIR of a running task
 *
 * The staging dir lies under the root, so moving a finished file into the store is one
 * rename(2) on the same file system; a rename that crosses file systems anyway (EXDEV: the
 * staging dir is a mount of its own) falls back to copy-to-temp + rename. Everything is
 * fs/promises: a large video never blocks the event loop. Writes of one task's manifest are
 * chained, so two artifacts reported together cannot lose each other's entry.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
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

const MANIFEST = '.manifest.json';

type Manifest = Record<string, { content_type: string; created_at: number }>;

const isInside = (parent: string, child: string): boolean => {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
};

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

export class LocalArtifactStore implements ArtifactStore {
  private readonly root: string;
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  /**
   * Creates the root and an empty staging root (once, at start: no task runs yet, so what a
   * previous server's tasks left half-written there is dropped).
   */
  async init(): Promise<this> {
    await rm(join(this.root, '.staging'), { recursive: true, force: true });
    await mkdir(join(this.root, '.staging'), { recursive: true });
    return this;
  }

  stagingDir(taskId: string): string {
    return join(this.root, '.staging', this.checkedId(taskId));
  }

  async ingest(taskId: string, source: ArtifactSource): Promise<ArtifactInfo> {
    const dir = this.taskDir(taskId);
    const name = artifactName(source.name, source.path);
    const from = resolve(source.path);
    const info = await lstat(from);
    const link = info.isSymbolicLink();
    const size = link ? (await stat(from)).size : info.size;
    if (!link && !info.isFile()) throw new Error(`${source.path} is not a regular file`);
    await mkdir(dir, { recursive: true });
    const dest = join(dir, name);
    if (!link && isInside(this.stagingDir(taskId), from)) {
      try {
        await rename(from, dest);
      } catch (err) {
        if (code(err) !== 'EXDEV') throw err;
        await this.copyInto(dir, from, dest);
        await rm(from, { force: true });
      }
    } else await this.copyInto(dir, from, dest);
    const entry = { content_type: artifactContentType(name, source.content_type), created_at: Date.now() };
    await this.updateManifest(taskId, (m) => ({ ...m, [name]: entry }));
    return { name, size, ...entry };
  }

  async list(taskId: string): Promise<ArtifactInfo[]> {
    const dir = this.taskDir(taskId);
    let entries: string[];
    try {
      entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name);
    } catch (err) {
      if (code(err) === 'ENOENT') return [];
      throw err;
    }
    const manifest = await this.readManifest(taskId);
    const out = await Promise.all(entries.map((name) => this.describe(dir, name, manifest)));
    return out.filter((a): a is ArtifactInfo => a !== null).sort((a, b) => a.created_at - b.created_at || a.name.localeCompare(b.name));
  }

  async stat(taskId: string, name: string): Promise<ArtifactInfo | null> {
    if (!isArtifactName(name)) return null;
    return this.describe(this.taskDir(taskId), name, await this.readManifest(taskId));
  }

  async read(taskId: string, name: string, range?: ByteRange): Promise<Readable> {
    if (!isArtifactName(name)) throw Object.assign(new Error(`no artifact ${name}`), { code: 'ENOENT' });
    const path = join(this.taskDir(taskId), name);
    const stream = createReadStream(path, range ? { start: range.start, end: range.end } : {});
    // Open errors (the file was deleted meanwhile) surface here rather than mid-response.
    await new Promise<void>((ok, fail) => stream.once('open', () => ok()).once('error', fail));
    return stream;
  }

  async clearStaging(taskId: string): Promise<void> {
    await removeStagingDir(this.stagingDir(taskId));
  }

  async deleteTask(taskId: string): Promise<void> {
    await this.enqueue(taskId, async () => {
      await rm(this.taskDir(taskId), { recursive: true, force: true });
      await this.clearStaging(taskId);
    });
  }

  private taskDir(taskId: string): string {
    return join(this.root, this.checkedId(taskId));
  }

  private checkedId(taskId: string): string {
    if (!isSafeId(taskId)) throw Object.assign(new Error(`bad task id ${JSON.stringify(taskId)}`), { code: 'ENOENT' });
    return taskId;
  }

  private async describe(dir: string, name: string, manifest: Manifest): Promise<ArtifactInfo | null> {
    try {
      const s = await stat(join(dir, name));
      if (!s.isFile()) return null;
      const m = manifest[name];
      return { name, content_type: m?.content_type ?? contentTypeOf(name), size: s.size, created_at: m?.created_at ?? Math.floor(s.mtimeMs) };
    } catch (err) {
      if (code(err) === 'ENOENT') return null;
      throw err;
    }
  }

  /** Copies `from` to a temporary file next to `dest`, then renames it into place. */
  private async copyInto(dir: string, from: string, dest: string): Promise<void> {
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await copyFile(from, tmp);
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private async readManifest(taskId: string): Promise<Manifest> {
    try {
      const parsed = JSON.parse(await readFile(join(this.taskDir(taskId), MANIFEST), 'utf8')) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Manifest) : {};
    } catch {
      return {};
    }
  }

  private updateManifest(taskId: string, change: (m: Manifest) => Manifest): Promise<void> {
    return this.enqueue(taskId, async () => {
      const dir = this.taskDir(taskId);
      const next = change(await this.readManifest(taskId));
      const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
      await writeFile(tmp, JSON.stringify(next));
      await rename(tmp, join(dir, MANIFEST));
    });
  }

  /** Runs `work` after every earlier piece of work of the same task. */
  private enqueue<T>(taskId: string, work: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(taskId) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => {});
    this.chains.set(taskId, tail);
    void tail.then(() => {
      if (this.chains.get(taskId) === tail) this.chains.delete(taskId);
    });
    return next;
  }
}
