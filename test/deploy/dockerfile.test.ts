/**
 * The Dockerfile, checked without Docker (none here): every path it copies from the build
 * context exists and survives .dockerignore, every stage it copies from is defined, the final
 * image holds what the server reads from its package root, the Ray node image carries the module
 * the RayService imports, and the image's command line — laid out as the image lays out /app —
 * starts a real server that answers the probes deploy/ uses and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { request } from 'undici';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { freePort, tempDir } from '../helpers/server-process.ts';
import { copyParts, dockerIgnored, execForm, readDockerfile, readDockerignore } from './dockerfile.ts';
import { DEPLOY, find, render, REPO } from './render.ts';

const stages = readDockerfile();
const final = stages.at(-1)!;
const ignore = readDockerignore();
const workdir = (s: typeof final) => s.instructions.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
const copies = (s: typeof final) => s.instructions.filter((i) => i.op === 'COPY').map((i) => copyParts(i.args));

/** What the server resolves from its package root at run time (src/main.ts PACKAGE_ROOT, src/api/routes/web.ts, bin/). */
const RUNTIME_PATHS = ['bin', 'src', 'runtimes', 'examples', 'node_modules', '.venv', 'web/dist', 'package.json'];

describe('Dockerfile', () => {
  it('uses only the .dockerignore forms its reader understands', () => {
    for (const p of ignore) expect(p, p).toMatch(/^(\*\*\/)?(\*\.)?[\w./-]+$/);
    expect(dockerIgnored('src/x/__pycache__/a.pyc', ignore)).toBe(true);
    expect(dockerIgnored('node_modules', ignore)).toBe(true);
    expect(dockerIgnored('src/main.ts', ignore)).toBe(false);
  });

  it('copies from the build context only paths that exist and that .dockerignore keeps', () => {
    const sources = stages.flatMap((s) => copies(s).filter((c) => c.from === null)).flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      expect(existsSync(join(REPO, src)), `${src} exists`).toBe(true);
      expect(dockerIgnored(src, ignore), `${src} is not in .dockerignore`).toBe(false);
    }
  });

  it('copies between stages only from stages defined before', () => {
    stages.forEach((stage, i) => {
      for (const c of copies(stage).filter((x) => x.from !== null)) expect(stages.slice(0, i).map((s) => s.name)).toContain(c.from);
    });
  });

  it('puts in the final image everything the server reads from its package root', () => {
    const root = workdir(final);
    const dests = copies(final).flatMap((c) => (c.sources.length === 1 ? [c.dest] : c.sources.map((s) => `${c.dest}/${s}`)));
    const inImage = dests.map((d) => join(root, d).replace(/\/$/, ''));
    for (const p of RUNTIME_PATHS) expect(inImage, p).toContain(join(root, p));
  });

  it("starts the CLI with bin/lakeray.js's node flags under an init that reaps orphans", () => {
    const entry = execForm(final, 'ENTRYPOINT');
    const shebangFlags = readFileSync(join(REPO, 'bin/lakeray.js'), 'utf8').split('\n')[0]!.split(/\s+/).slice(3);
    expect(entry).toEqual(['tini', '--', 'node', ...shebangFlags, join(workdir(final), 'bin/lakeray.js')]);
    expect(final.instructions.some((i) => i.op === 'RUN' && /apt-get install[^&]*\btini\b/.test(i.args))).toBe(true);
  });

  it('gives the Ray node image the module the RayService imports, on its PYTHONPATH', () => {
    const rayNode = stages.find((s) => s.name === 'ray-node')!;
    const serving = copies(rayNode).find((c) => c.sources.includes('runtimes/serving'))!;
    expect(rayNode.instructions.find((i) => i.op === 'ENV')!.args).toBe(`PYTHONPATH=${serving.dest}`);
    const rayService = find(render(join(DEPLOY, 'base')), 'RayService', 'lakeray-serve') as unknown as { spec: { serveConfigV2: string } };
    for (const app of (parse(rayService.spec.serveConfigV2) as { applications: { import_path: string }[] }).applications) {
      const module = app.import_path.split(':')[0]!;
      expect(existsSync(join(REPO, 'runtimes/serving', `${module}.py`)), module).toBe(true);
    }
  });

  it('bakes in a Level 1 config whose state is all under /var/lib/lakeray', () => {
    const { config } = loadConfig(join(DEPLOY, 'image/lakeray.yaml'), {});
    expect(config.server.host).toBe('0.0.0.0');
    for (const p of [config.state_dir, config.lake.root, ...config.data_roots]) expect(p.startsWith('/var/lib/lakeray')).toBe(true);
  });

  it('runs as the image would: ENTRYPOINT + CMD in /app start a server that answers /health and /ready, and SIGTERM stops it', async () => {
    // /app as the final stage lays it out: context paths linked, stage outputs from this checkout.
    const app = join(tempDir('lakeray-image-'), 'app');
    for (const c of copies(final)) {
      for (const src of c.sources) {
        const dest = join(app, c.sources.length === 1 && !c.dest.endsWith('/') ? c.dest : join(c.dest, basename(src)));
        // From the context: the checkout's path; from a build stage: what that stage makes, as this checkout has it.
        const from = join(REPO, src.replace(/^\/app\//, ''));
        if (!existsSync(from)) {
          if (c.from === null) throw new Error(`${src}: missing`);
          continue; // a stage output this checkout has not built (web/dist): the server runs without it
        }
        mkdirSync(dirname(dest), { recursive: true });
        symlinkSync(from, dest);
      }
    }
    const [init, sep, ...command] = execForm(final, 'ENTRYPOINT');
    expect([init, sep]).toEqual(['tini', '--']);
    const argv = [...command, ...execForm(final, 'CMD')].map((a) => a.replace(/^\/app\//, `${app}/`));
    const state = tempDir('lakeray-image-state-');
    const port = await freePort();
    // The baked config's /var/lib/lakeray, and its 0.0.0.0, moved to this test's places through the env overrides.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      LAKERAY_STATE_DIR: state,
      LAKERAY_LAKE_ROOT: join(state, 'lance_storage'),
      LAKERAY_DATA_ROOTS: join(state, 'data'),
      LAKERAY_HOST: '127.0.0.1',
      LAKERAY_PORT: String(port),
      LAKERAY_LOG_LEVEL: 'warn',
    };
    delete env.LAKERAY_CONFIG;
    const child = spawn(argv[0] === 'node' ? process.execPath : argv[0]!, argv.slice(1), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    try {
      const get = async (path: string) => {
        const r = await request(`http://127.0.0.1:${port}${path}`);
        await r.body.text();
        return r.statusCode;
      };
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${out}`);
        const status = await get('/ready').catch(() => 0);
        if (status === 200) break;
        if (Date.now() > deadline) throw new Error(`not ready in 60 s:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await get('/health')).toBe(200);
      expect(out).toContain(`Lakeray is running at http://127.0.0.1:${port}`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
