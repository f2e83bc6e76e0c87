/**
 * Ray Serve's declarative REST API on the Ray dashboard (Ray 2.58 dashboard/modules/serve/serve_head.py,
 * as KubeRay's RayService drives it):
 * - `PUT /api/serve/applications/` takes the WHOLE config (ServeDeploySchema): the applications
 *   it lists are deployed, every other application is deleted. So adding, changing or removing
 *   one application is read-modify-write: read every running application's `deployed_app_config`
 *   (GET), replace or drop ours, PUT them all. Applications Lakeray did not create go back as
 *   Serve reported them, so they survive our PUTs. Our writes are serialized; a write by someone
 *   else between our GET and PUT is lost (Serve has no compare-and-set).
 * - `GET /api/serve/applications/` (ServeInstanceDetails): per application its status
 *   (NOT_STARTED, DEPLOYING, RUNNING, DEPLOY_FAILED, UNHEALTHY, DELETING), message, and per
 *   deployment its replicas with their states.
 * - `http_options` only take effect when Serve starts; later PUTs must repeat the running ones
 *   (Serve only warns otherwise), so the client sends what the instance reports.
 * Requests go through undici's `request`: the dashboard answers 405 to the global fetch
 * (CONTRACTS.md §1.7). Errors are RayApiError, as the Jobs client's.
 */
import { Agent, request } from 'undici';
import { RayApiError, kindOfStatus, rayTextSummary } from '../../executors/ray/ray-api-error.ts';
import type { ReplicaState } from '../types.ts';
import type { ServeApplicationConfig } from './serve-config.ts';

export type ServeAppStatus = 'NOT_STARTED' | 'DEPLOYING' | 'DEPLOY_FAILED' | 'RUNNING' | 'UNHEALTHY' | 'DELETING';

export interface ServeReplicaDetails {
  replica_id: string;
  /** STARTING, UPDATING, RECOVERING, RUNNING, STOPPING, STOPPED, PENDING_MIGRATION */
  state: string;
  pid?: number | null;
  actor_id?: string | null;
  node_ip?: string | null;
  start_time_s: number;
}

export interface ServeDeploymentDetails {
  name: string;
  status: string;
  message: string;
  target_num_replicas: number;
  replicas: ServeReplicaDetails[];
}

export interface ServeAppDetails {
  name: string;
  route_prefix: string | null;
  status: ServeAppStatus;
  message: string;
  last_deployed_time_s: number;
  /** null for an application deployed from a driver (serve.run), not through this API */
  deployed_app_config: ServeApplicationConfig | null;
  deployments: Record<string, ServeDeploymentDetails>;
}

export interface ServeInstance {
  proxy_location?: string | null;
  http_options?: { host: string; port: number } & Record<string, unknown>;
  target_capacity?: number | null;
  applications: Record<string, ServeAppDetails>;
}

export interface RayServeClientOptions {
  /** the dashboard's base URL */
  address: string;
  token?: string;
  /** Serve's HTTP proxy, used when this PUT starts Serve (default 127.0.0.1:8000) */
  http?: { host: string; port: number };
  /** deadline of each call (default 30 s: a PUT waits for the controller to take the config) */
  timeoutMs?: number;
}

/** One replica of a Serve deployment as a Lakeray deployment's `replica_status` shows it. */
export interface ServeReplicaStatus {
  id: string;
  state: ReplicaState;
  load: number | null;
  gpus: string[];
  task_id: null;
  /** ms since the epoch */
  started_at: number;
}

export class RayServeClient {
  readonly address: string;
  private readonly agent = new Agent({ connect: { timeout: 3_000 } });
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly http: { host: string; port: number };
  private writes: Promise<unknown> = Promise.resolve();

  constructor(opts: RayServeClientOptions) {
    this.address = new URL(opts.address).origin;
    this.headers = { 'user-agent': 'lakeray', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.http = opts.http ?? { host: '127.0.0.1', port: 8000 };
  }

  async instance(): Promise<ServeInstance> {
    const res = await this.call('GET', '/api/serve/applications/');
    const text = this.ok(res, 'GET /api/serve/applications/');
    try {
      return JSON.parse(text) as ServeInstance;
    } catch (err) {
      throw new RayApiError('server', `Ray GET /api/serve/applications/: not JSON: ${text.slice(0, 200)}`, res.status, text.slice(0, 8_000), { cause: err });
    }
  }

  async application(name: string): Promise<ServeAppDetails | null> {
    return (await this.instance()).applications[name] ?? null;
  }

  /** Where Serve's HTTP proxy listens (the running instance's, else the one this client would start). */
  async proxyUrl(): Promise<string> {
    const http = (await this.instance()).http_options;
    const host = http?.host && http.host !== '0.0.0.0' ? http.host : new URL(this.address).hostname;
    return `http://${host.includes(':') ? `[${host}]` : host}:${http?.port ?? this.http.port}`;
  }

  /** Start Serve (its proxy on `http`) when it is not running yet; applications are kept as they are. */
  start(): Promise<void> {
    return this.write((apps) => apps);
  }

  /** Add `app`, or replace the application of the same name; every other application stays. */
  deploy(app: ServeApplicationConfig): Promise<void> {
    return this.write((apps) => [...apps.filter((a) => a.name !== app.name), app]);
  }

  /** Delete one application (a PUT without it); false when there was none of that name. */
  async remove(name: string): Promise<boolean> {
    let found = false;
    await this.write((apps) => {
      found = apps.some((a) => a.name === name);
      return apps.filter((a) => a.name !== name);
    });
    return found;
  }

  /**
   * Poll until the application is in one of `want` (default RUNNING); a DEPLOY_FAILED
   * application, or none by that name, ends the wait early with its message.
   */
  async waitFor(name: string, opts: { want?: ServeAppStatus[]; timeoutMs?: number; intervalMs?: number } = {}): Promise<ServeAppDetails> {
    const want = opts.want ?? ['RUNNING'];
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const last = await this.application(name);
      if (last && want.includes(last.status)) return last;
      if (last?.status === 'DEPLOY_FAILED') throw new RayApiError('rejected', `Serve application "${name}" failed to deploy: ${serveAppFailure(last)}`, undefined, last.message.slice(0, 8_000));
      if (Date.now() > deadline) throw new RayApiError('timeout', `Serve application "${name}" is ${last?.status ?? 'absent'}, not ${want.join('/')}, after ${opts.timeoutMs ?? 120_000} ms${last?.message ? `: ${last.message.slice(0, 300)}` : ''}`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
    }
  }

  /** Until Serve no longer lists the application. */
  async waitGone(name: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.application(name)) !== null) {
      if (Date.now() > deadline) throw new RayApiError('timeout', `Serve application "${name}" still listed after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Read-modify-write of the whole config, one at a time. */
  private write(change: (apps: ServeApplicationConfig[]) => ServeApplicationConfig[]): Promise<void> {
    const run = this.writes.then(async () => {
      const inst = await this.instance();
      const running = Object.values(inst.applications)
        .filter((a) => a.status !== 'DELETING')
        .map((a) => {
          if (!a.deployed_app_config) throw new RayApiError('rejected', `Serve application "${a.name}" was deployed from a driver, not declaratively: Serve refuses a declarative PUT while it runs`);
          return a.deployed_app_config;
        });
      const body = {
        ...(inst.proxy_location ? { proxy_location: inst.proxy_location } : {}),
        ...(inst.target_capacity != null ? { target_capacity: inst.target_capacity } : {}),
        http_options: Object.keys(inst.applications).length > 0 && inst.http_options ? { host: inst.http_options.host, port: inst.http_options.port } : this.http,
        applications: change(running),
      };
      this.ok(await this.call('PUT', '/api/serve/applications/', JSON.stringify(body)), 'PUT /api/serve/applications/');
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  private ok(res: { status: number; text: string }, what: string): string {
    if (res.status >= 200 && res.status < 300) return res.text;
    throw new RayApiError(kindOfStatus(res.status, res.text), `Ray ${what}: ${res.status} ${rayTextSummary(res.text)}`, res.status, res.text.slice(0, 8_000));
  }

  private async call(method: 'GET' | 'PUT', path: string, body?: string): Promise<{ status: number; text: string }> {
    try {
      const res = await request(this.address + path, {
        method,
        dispatcher: this.agent,
        headers: body ? { ...this.headers, 'content-type': 'application/json' } : this.headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new RayApiError(timedOut ? 'timeout' : 'unreachable', `Ray ${method} ${path}: ${timedOut ? `no answer within ${this.timeoutMs} ms` : `cannot reach ${this.address} (${(err as Error).message})`}`, undefined, undefined, { cause: err });
    }
  }
}

/** The app's message names the failed deployments only; the reason is the last line of theirs (a traceback). */
export function serveAppFailure(app: ServeAppDetails): string {
  const reasons = Object.values(app.deployments)
    .filter((d) => d.message && d.status !== 'HEALTHY')
    .map((d) => `${d.name}: ${rayTextSummary(d.message)}`);
  return [rayTextSummary(app.message), ...reasons].join('; ');
}

const REPLICA_STATE: Record<string, ReplicaState> = { RUNNING: 'ready', STOPPING: 'draining', PENDING_MIGRATION: 'draining' };

/** The replicas of an application's deployments, for the Lakeray deployment's `replica_status`. */
export function serveReplicaStatus(app: ServeAppDetails): ServeReplicaStatus[] {
  return Object.values(app.deployments).flatMap((d) =>
    d.replicas
      .filter((r) => r.state !== 'STOPPED')
      .map((r) => ({ id: r.replica_id, state: REPLICA_STATE[r.state] ?? 'starting', load: null, gpus: [], task_id: null, started_at: Math.round(r.start_time_s * 1000) })),
  );
}
