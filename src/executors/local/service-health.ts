/**
 * Health probes of a service task: `GET http://127.0.0.1:<port><health_path>` until it answers
 * 2xx. Each probe has short timeouts and a fresh connection (a keep-alive socket to a previous
 * incarnation of the service would only fail); between probes the delay grows from 100 ms to 1 s.
 */
import { Agent, request } from 'undici';

const PROBE_TIMEOUT_MS = 1000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 1000;

let agent: Agent | undefined;
/** One small agent for every probe: connect fails fast instead of undici's default 10 s. */
const probeAgent = (): Agent => (agent ??= new Agent({ connect: { timeout: PROBE_TIMEOUT_MS }, keepAliveTimeout: 1, connections: 64 }));

/** One probe: true on a 2xx answer, false on anything else (refused, timeout, 5xx…). */
export async function probeOnce(url: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher: probeAgent(),
      headersTimeout: PROBE_TIMEOUT_MS,
      bodyTimeout: PROBE_TIMEOUT_MS,
      reset: true,
      signal,
      headers: { 'user-agent': 'lakeray-health-probe' },
    });
    await res.body.dump({ limit: 64 * 1024 });
    return res.statusCode >= 200 && res.statusCode < 300;
  } catch {
    return false;
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** Probe until healthy (true) or until `signal` aborts (false). The deadline is the caller's. */
export async function waitHealthy(url: string, signal: AbortSignal): Promise<boolean> {
  let delay = FIRST_DELAY_MS;
  while (!signal.aborted) {
    if (await probeOnce(url, signal)) return !signal.aborted;
    await sleep(delay, signal);
    delay = Math.min(MAX_DELAY_MS, delay * 2);
  }
  return false;
}
