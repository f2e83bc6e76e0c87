/**
 * The environment a task's process starts with: an allowlist, never the server's whole
 * environment. The server holds secrets a script must not see (cloud keys, the store's URL
 * with its password, LAKERAY_* settings); a script gets only what an interpreter needs to run
 * (PATH, HOME, locale, time zone, a temp dir, the Python/conda/CUDA variables that locate
 * libraries), the runtime protocol's own variables (set per job by job.ts), and whatever the
 * executor's config names in `pass_env`.
 *
 * Threat model: the allowlist keeps secrets the operator put in the server's environment out
 * of scripts. It is not a sandbox: a local task runs as the server's user and can read what
 * that user can read (docs/security.md).
 */

/** Names passed through when the server has them. */
const ALLOWED = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM',
  // Python: which interpreter and where its libraries are.
  'VIRTUAL_ENV', 'PYTHONHOME', 'CONDA_PREFIX', 'CONDA_DEFAULT_ENV',
  // Native libraries (CUDA, cuDNN) and the GPU driver's settings.
  'LD_LIBRARY_PATH', 'CUDA_HOME', 'CUDA_PATH', 'NVIDIA_DRIVER_CAPABILITIES',
  // Runtime settings the harness and the example scripts read (runtimes/, examples/): not secrets.
  'LAKERAY_FFMPEG', 'LAKERAY_MNIST_DIR', 'LAKERAY_REPORT_RETRY_S', 'LAKERAY_WORK_DIR',
]);

/** Whole families that only describe the machine (locale categories). */
const ALLOWED_PREFIXES = ['LC_'];

const allowed = (name: string, extra: ReadonlySet<string>): boolean =>
  ALLOWED.has(name) || extra.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p));

/** The part of `source` (the server's environment) a task may see; `passEnv` adds names the config allows. */
export function taskBaseEnv(source: NodeJS.ProcessEnv, passEnv: readonly string[] = []): Record<string, string> {
  const extra = new Set(passEnv);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) if (value !== undefined && allowed(name, extra)) out[name] = value;
  return out;
}
