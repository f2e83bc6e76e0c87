/** Helpers for the harness lake tests: run Python against the fake lake server. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const PYTHON = path.join(ROOT, '.venv/bin/python');
export const PY_RUNTIME = path.join(ROOT, 'runtimes/python');
export const MNIST_DIR = path.join(ROOT, 'examples/mnist');
export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

export interface PyResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line, parsed as JSON (null when it is not JSON). */
  json: any;
}

/**
 * Run Python code (async: the fake server lives in this process, so a sync spawn would
 * deadlock). PYTHONPATH has the harness package; env is added to a clean copy of ours.
 */
export const python = (code: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<PyResult> =>
  new Promise((resolve) => {
    const baseEnv = { ...process.env };
    for (const k of Object.keys(baseEnv)) if (k.startsWith('LAKERAY_')) delete baseEnv[k];
    execFile(
      PYTHON,
      ['-c', code],
      { env: { ...baseEnv, PYTHONPATH: PY_RUNTIME, PYTHONDONTWRITEBYTECODE: '1', ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const lines = stdout.trim().split('\n');
        let json: any;
        try {
          json = JSON.parse(lines.at(-1) ?? '');
        } catch {
          json = null;
        }
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
        resolve({ code, stdout, stderr, json });
      },
    );
  });

/** Python that failed: a readable assertion message with its stderr. */
export const ok = (r: PyResult): any => {
  if (r.code !== 0 || r.json === null) throw new Error(`python failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.json;
};

export const tempDir = (prefix = 'lakeray-lake-'): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
