/**
 * The Ray heads `ray` deployments may go to: one per configured Ray executor (config
 * executors.<name>, kind ray), each with ONE Serve client, because Serve's REST API takes the
 * whole config and our read-modify-write PUTs to one head must run one at a time.
 */
import { LakerayError } from '../../domain/errors.ts';
import { RayJobsClient } from '../../executors/ray/jobs-client.ts';
import type { RayTarget } from '../backends/ray-backend.ts';
import { RayServeBackend } from './ray-serve-backend.ts';
import { RayServeClient } from './serve-client.ts';

/** What of a Ray executor's config serving needs. */
export interface RayServeExecutor {
  /** the dashboard */
  address: string;
  token?: string;
  /** Lakeray's API as the cluster reaches it; default the server's own URL */
  api_url?: string;
  /** Where Serve's HTTP proxy listens when a deploy of ours is what starts Serve (default: see localServeHttp). */
  serve_http?: { host: string; port: number };
}

export class RayServeTargets {
  private readonly targets = new Map<string, { target: RayTarget; close(): Promise<void> }>();

  constructor(
    private readonly executors: Record<string, RayServeExecutor>,
    /** runtimes/serving (ray_serve_app.py) */
    private readonly appDir: string | undefined,
    private readonly apiUrl: () => string | undefined,
  ) {}

  /** The executor a `ray` deployment names, or the only Ray executor. Throws a 400 LakerayError otherwise. */
  resolve(name: string | null): string {
    const names = Object.keys(this.executors);
    if (name !== null) {
      if (names.includes(name)) return name;
      throw new LakerayError('UNKNOWN_EXECUTOR', `backend "ray" needs a Ray executor: "${name}" is not one of the configured Ray executors (${names.join(', ') || 'none'})`);
    }
    if (names.length === 1) return names[0] as string;
    if (names.length === 0) throw new LakerayError('INVALID_REQUEST', 'backend "ray" needs a Ray executor (config executors.<name> with kind: ray, whose head runs Ray Serve); none is configured');
    throw new LakerayError('INVALID_REQUEST', `backend "ray": name the Ray executor to serve on in "executor" (one of ${names.join(', ')})`);
  }

  target(name: string): RayTarget {
    const known = this.targets.get(name);
    if (known) return known.target;
    const config = this.executors[name];
    if (!config || this.appDir === undefined) throw new LakerayError('UNKNOWN_EXECUTOR', `no Ray executor "${name}" serves deployments on this server`);
    const serve = new RayServeClient({ address: config.address, token: config.token, http: config.serve_http ?? localServeHttp(config.address), timeoutMs: 60_000 });
    const jobs = new RayJobsClient({ address: config.address, token: config.token });
    const target: RayTarget = { serve: new RayServeBackend(serve, jobs, this.appDir), lakerayUrl: () => config.api_url ?? this.apiUrl() };
    this.targets.set(name, { target, close: async () => void (await Promise.all([serve.close(), jobs.close()])) });
    return target;
  }

  async close(): Promise<void> {
    const all = [...this.targets.values()];
    this.targets.clear();
    await Promise.all(all.map((t) => t.close()));
  }
}

/** A head on this machine: Serve's proxy on 8366, not Serve's default 8000 (Lakeray's own port). */
const localServeHttp = (address: string): { host: string; port: number } | undefined => {
  const host = new URL(address).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' ? { host: '127.0.0.1', port: 8366 } : undefined;
};
