/**
 * Builds the web UI (web/ → web/dist) with Vite, only when its inputs changed since the last
 * build. The stamp `web/dist/.lakeray-build` holds a SHA-256 over every input file (path and
 * bytes) and the installed toolchain versions, like the venv stamp in scripts/setup.sh: a
 * fresh clone, an edited component or an upgraded Vite rebuilds; anything else is a no-op.
 *
 * The build goes to a scratch directory and replaces web/dist with two renames, so a running
 * server never serves a half-written dist, and two builds at once (parallel test files) do
 * not write into each other's output.
 *
 *   node --import tsx web/build.ts [--if-stale]     (scripts/setup.sh runs it with --if-stale)
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

export const WEB_ROOT = import.meta.dirname;
export const WEB_DIST = join(WEB_ROOT, 'dist');
const REPO_ROOT = join(WEB_ROOT, '..');
const STAMP = '.lakeray-build';
const INPUTS = ['index.html', 'vite.config.ts', 'tsconfig.json', 'src', 'public'];
const TOOLCHAIN = ['vite', 'react', 'react-dom', '@vitejs/plugin-react'];

/** Every file the build reads, sorted (directories walked recursively). */
const inputFiles = (): string[] =>
  INPUTS.map((name) => join(WEB_ROOT, name))
    .filter((path) => existsSync(path))
    .flatMap((path) =>
      statSync(path).isDirectory()
        ? readdirSync(path, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
        : [path],
    )
    .sort();

const installedVersion = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
};

/** The content hash of everything the build reads. */
export function sourceHash(): string {
  const h = createHash('sha256');
  for (const pkg of TOOLCHAIN) h.update(`${pkg}@${installedVersion(pkg)}\n`);
  for (const file of inputFiles()) {
    h.update(`${relative(WEB_ROOT, file)}\n`);
    h.update(readFileSync(file));
  }
  return h.digest('hex');
}

/** True when web/dist is missing or was built from other inputs. */
export function isStale(hash = sourceHash()): boolean {
  try {
    return !existsSync(join(WEB_DIST, 'index.html')) || readFileSync(join(WEB_DIST, STAMP), 'utf8').trim() !== hash;
  } catch {
    return true;
  }
}

export interface BuildOptions {
  /** Build only when the inputs changed (default: always). */
  ifStale?: boolean;
  /** Vite prints warnings only. */
  quiet?: boolean;
}

/** Builds web/dist; resolves to whether a build ran. */
export async function buildWeb(opts: BuildOptions = {}): Promise<boolean> {
  const hash = sourceHash();
  if (opts.ifStale && !isStale(hash)) return false;
  const { build } = await import('vite').catch((err: unknown) => {
    throw Object.assign(new Error(`vite is not installed (npm install without --omit=dev): ${err instanceof Error ? err.message : String(err)}`), { code: 'NO_VITE' });
  });
  const scratch = join(REPO_ROOT, 'node_modules', '.cache', 'lakeray-web');
  mkdirSync(scratch, { recursive: true });
  const out = join(scratch, `dist-${process.pid}-${Date.now()}`);
  // Always the production build, whatever NODE_ENV the caller has (vitest sets "test", which
  // would bundle React's development build and the JSX dev runtime).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(WEB_ROOT, 'vite.config.ts'), mode: 'production', logLevel: opts.quiet ? 'warn' : 'info', build: { outDir: out, emptyOutDir: true } });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  writeFileSync(join(out, STAMP), `${hash}\n`);
  const old = `${out}-old`;
  if (existsSync(WEB_DIST)) renameSync(WEB_DIST, old);
  try {
    renameSync(out, WEB_DIST);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      rmSync(out, { recursive: true, force: true }); // a build running beside this one got there first
    } else if (code === 'EXDEV') {
      cpSync(out, WEB_DIST, { recursive: true });
      rmSync(out, { recursive: true, force: true });
    } else throw err;
  }
  rmSync(old, { recursive: true, force: true });
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = new Set(process.argv.slice(2));
  const ifStale = args.has('--if-stale');
  if (ifStale && !isStale()) process.exit(0);
  process.stderr.write('lakeray setup: building the web UI (web/ → web/dist)…\n');
  const started = Date.now();
  buildWeb({ quiet: true }).then(
    () => process.stderr.write(`lakeray setup: web UI built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`),
    (err: unknown) => {
      process.stderr.write(`lakeray setup: the web UI build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      // Without the toolchain (a production install) the API still starts; `/` says how to build.
      process.exit((err as { code?: string }).code === 'NO_VITE' ? 0 : 1);
    },
  );
}
