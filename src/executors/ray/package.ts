/**
 * A script's folder as a Ray `working_dir` package: a zip named by its content,
 * `gcs://_ray_pkg_<sha256 of the zip>.zip`, uploaded to the head once per content.
 *
 * Ray refuses a local path as `working_dir` ("not a valid URI"); `ray job submit` zips the
 * folder and PUTs it to `/api/packages/gcs/_ray_pkg_<hash>.zip` first (CONTRACTS.md §1.1), and
 * so do we. The zip is deterministic — entries in byte order of their paths, a fixed timestamp,
 * modes reduced to 644/755 — so the same files give the same bytes and the same name, and a
 * package already on the head is never sent again.
 *
 * Ray's GCS deletes a package nothing references: uploading (PUT) or checking (GET) pins it
 * for RAY_RUNTIME_ENV_TEMPORARY_REFERENCE_EXPIRATION_S (600 s by default), a job using it
 * holds it while it runs, and then it may go. So "known to be on the head" is only true for a
 * while: the uploader trusts its memory for `trustMs` (default 5 min, half the pin) and checks
 * again after that, which also renews the pin; a job submitted right after `ensure()` finds
 * its package.
 *
 * Bounds: the zip must fit Ray's request limit (100 MiB, DASHBOARD_CLIENT_MAX_SIZE) and the
 * files read are bounded too (`maxRawBytes`), so a folder holding model weights fails fast with
 * the largest files named instead of being read into memory.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Zip, ZipDeflate } from 'fflate';
import type { RayJobsClient } from './jobs-client.ts';

export const RAY_PACKAGE_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_PACKAGE_EXCLUDES: readonly string[] = ['__pycache__', '.git', 'node_modules'];
const MiB = 1024 * 1024;
// Local-time components, so the DOS timestamp fflate writes is the same in every time zone.
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

export interface WorkingDirPackage {
  /** `_ray_pkg_<sha256>.zip` */
  name: string;
  /** `gcs://<name>`, the value of runtime_env.working_dir */
  uri: string;
  zip: Uint8Array;
  files: number;
  /** bytes of the files before compression */
  rawBytes: number;
}

export interface PackOptions {
  /** largest zip (default 100 MiB, Ray's limit) */
  maxBytes?: number;
  /** most file bytes read (default 512 MiB) */
  maxRawBytes?: number;
  /** file or folder names skipped at any depth (default __pycache__, .git, node_modules) */
  exclude?: readonly string[];
  /** a folder every entry is put under (`lakeray` for a py_modules package of runtimes/python/lakeray) */
  prefix?: string;
}

export class PackageTooLargeError extends Error {
  override readonly name = 'PackageTooLargeError';
}

interface FileEntry {
  path: string;
  abs: string;
  size: number;
  executable: boolean;
}

/** Zip `dir` deterministically and name it by its hash. */
export async function packWorkingDir(dir: string, opts: PackOptions = {}): Promise<WorkingDirPackage> {
  const maxBytes = opts.maxBytes ?? RAY_PACKAGE_MAX_BYTES;
  const maxRawBytes = opts.maxRawBytes ?? 512 * MiB;
  const files = await listFiles(dir, new Set(opts.exclude ?? DEFAULT_PACKAGE_EXCLUDES));
  const rawBytes = files.reduce((n, f) => n + f.size, 0);
  if (rawBytes > maxRawBytes) {
    throw new PackageTooLargeError(
      `${dir} holds ${mib(rawBytes)} of files, more than the ${mib(maxRawBytes)} a Ray working_dir package may read; ` +
        `largest: ${largest(files)}. Move data and weights out of the script's folder (the lake, or a remote URI).`,
    );
  }

  const chunks: Uint8Array[] = [];
  let zipError: Error | null = null;
  const zip = new Zip((err, chunk) => (err ? (zipError = err) : chunks.push(chunk)));
  for (const f of files) {
    const entry = new ZipDeflate(opts.prefix ? `${opts.prefix}/${f.path}` : f.path, { level: 6 });
    entry.mtime = FIXED_MTIME;
    entry.os = 3; // Unix: Ray's unzip restores the mode from the upper 16 bits of attrs
    entry.attrs = (f.executable ? 0o100755 : 0o100644) << 16;
    zip.add(entry);
    entry.push(await readFile(f.abs), true);
  }
  zip.end();
  if (zipError) throw zipError;
  const bytes = Buffer.concat(chunks);
  if (bytes.length > maxBytes) {
    throw new PackageTooLargeError(
      `the working_dir package of ${dir} is ${mib(bytes.length)} zipped, over Ray's limit of ${mib(maxBytes)}; largest files: ${largest(files)}`,
    );
  }
  const name = `_ray_pkg_${createHash('sha256').update(bytes).digest('hex')}.zip`;
  return { name, uri: `gcs://${name}`, zip: bytes, files: files.length, rawBytes };
}

/** Regular files under `dir`, sorted by path; symlinks to files are read, symlinked folders skipped (no cycles). */
async function listFiles(dir: string, exclude: ReadonlySet<string>): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const entries: Dirent[] = await readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      if (exclude.has(e.name)) continue;
      const childAbs = join(abs, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        await walk(childAbs, childRel);
      } else if (e.isFile() || e.isSymbolicLink()) {
        const s = await stat(childAbs).catch(() => null); // a dangling link is skipped
        if (s?.isFile()) out.push({ path: childRel, abs: childAbs, size: s.size, executable: (s.mode & 0o100) !== 0 });
      }
    }
  };
  await walk(dir, '');
  // Byte order of the UTF-16 paths, never the locale's collation: the same on every machine.
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const mib = (n: number): string => (n < MiB ? `${(n / 1024).toFixed(1)} KiB` : `${(n / MiB).toFixed(1)} MiB`);
const largest = (files: FileEntry[]): string =>
  [...files]
    .sort((a, b) => b.size - a.size)
    .slice(0, 3)
    .map((f) => `${f.path} (${mib(f.size)})`)
    .join(', ');

/**
 * Puts packages on one head, each content once: a package checked or uploaded within
 * `trustMs` is not asked about again; concurrent `ensure` calls for one package share one
 * check and one upload.
 */
export class PackageUploader {
  private readonly pinnedAt = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<boolean>>();
  private readonly trustMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: Pick<RayJobsClient, 'packageExists' | 'uploadPackage'>,
    opts: { trustMs?: number; now?: () => number } = {},
  ) {
    this.trustMs = opts.trustMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Make sure the head holds `pkg`; `uploaded` tells whether this call sent its bytes. */
  async ensure(pkg: WorkingDirPackage): Promise<{ uri: string; uploaded: boolean }> {
    const at = this.pinnedAt.get(pkg.name);
    if (at !== undefined && this.now() - at < this.trustMs) return { uri: pkg.uri, uploaded: false };
    const running = this.inflight.get(pkg.name);
    if (running) {
      await running; // another call is checking or sending these bytes
      return { uri: pkg.uri, uploaded: false };
    }
    const pending = this.checkAndUpload(pkg).finally(() => this.inflight.delete(pkg.name));
    this.inflight.set(pkg.name, pending);
    return { uri: pkg.uri, uploaded: await pending };
  }

  /**
   * Trust nothing remembered: the head may have restarted (a new GCS holds no packages), so
   * every package is asked about (and uploaded) again on its next `ensure`.
   */
  forget(): void {
    this.pinnedAt.clear();
  }

  private async checkAndUpload(pkg: WorkingDirPackage): Promise<boolean> {
    const checkedAt = this.now();
    const exists = await this.client.packageExists(pkg.name);
    if (!exists) await this.client.uploadPackage(pkg.name, pkg.zip);
    this.pinnedAt.set(pkg.name, checkedAt);
    return !exists;
  }
}
