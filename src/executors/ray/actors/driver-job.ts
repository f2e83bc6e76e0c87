/**
 * The Ray job of an actors-mode executor's driver (`python -u -m lakeray.ray_driver`), one per
 * executor at a time, named `lr-driver-<executor>-<n>`.
 *
 * A driver outlives the server: a server that starts adopts the newest driver of its executor
 * that is PENDING/RUNNING with the same pools (by metadata), so the tasks on its actors run on;
 * otherwise it submits the next `n`. A driver with other pools (the config changed) and any
 * second one are stopped. `replace()` is what the executor does when its driver died or went
 * silent: stop it (its actors die with it) and submit the next one.
 */
import { createHash } from 'node:crypto';
import { isTerminalJobStatus, type RayJobDetails, type RayJobsClient } from '../jobs-client.ts';

export interface ActorPoolConfig {
  num_cpus: number;
  num_gpus: number;
  resources: Record<string, number>;
  min_actors: number;
  max_actors: number;
  idle_timeout_s: number;
  preload: string[];
  gang: number;
}

export interface DriverJobOptions {
  executor: string;
  python: string;
  pools: Record<string, ActorPoolConfig>;
  /** the executor token the driver polls with */
  token: string;
  apiUrl: () => string | undefined;
  /** the gcs:// URI of the Lakeray runtime package */
  runtime: () => Promise<string>;
}

const ROLE = 'actors-driver';

export class DriverJob {
  /** The submission id of the current driver, once known. */
  id: string | undefined;
  private readonly poolsHash: string;

  constructor(
    private readonly client: RayJobsClient,
    private readonly opts: DriverJobOptions,
  ) {
    this.poolsHash = createHash('sha256').update(JSON.stringify(opts.pools)).digest('hex').slice(0, 16);
  }

  /** Adopt the executor's live driver, or submit one. Throws when Ray cannot be asked. */
  async ensure(): Promise<{ id: string; adopted: boolean }> {
    const ours = (await this.client.list()).filter((j) => j.metadata?.lakeray_executor === this.opts.executor && j.metadata?.lakeray_role === ROLE);
    const live = ours.filter((j) => !isTerminalJobStatus(j.status)).sort((a, b) => numberOf(b) - numberOf(a));
    const adopt = live.find((j) => j.metadata?.lakeray_pools === this.poolsHash);
    for (const j of live) if (j !== adopt && j.submission_id !== null) await this.client.stop(j.submission_id).catch(() => false);
    if (adopt?.submission_id) return { id: (this.id = adopt.submission_id), adopted: true };
    return { id: await this.submit(Math.max(0, ...ours.map(numberOf)) + 1), adopted: false };
  }

  /** Stop the current driver (its actors and their tasks die with it) and submit the next. */
  async replace(): Promise<string> {
    const old = this.id;
    if (old !== undefined) await this.client.stop(old).catch(() => false);
    const n = Math.max(old === undefined ? 0 : numberOfId(old), 0) + 1;
    return this.submit(n);
  }

  /** The driver's job as Ray sees it now (null: Ray does not know it). */
  status(): Promise<RayJobDetails | null> {
    return this.id === undefined ? Promise.resolve(null) : this.client.get(this.id);
  }

  /** Stop the driver for good (tests, an executor removed from the config). */
  async stop(): Promise<void> {
    if (this.id !== undefined) await this.client.stop(this.id).catch(() => false);
  }

  private async submit(n: number): Promise<string> {
    const id = `lr-driver-${this.opts.executor}-${n}`;
    const apiUrl = this.opts.apiUrl();
    if (apiUrl === undefined) throw new Error(`executor ${this.opts.executor}: the server's URL as the cluster reaches it is not known yet`);
    await this.client.submit({
      entrypoint: `${this.opts.python} -u -m lakeray.ray_driver`,
      submission_id: id,
      runtime_env: {
        py_modules: [await this.opts.runtime()],
        env_vars: {
          LAKERAY_API_URL: apiUrl,
          LAKERAY_EXECUTOR: this.opts.executor,
          LAKERAY_EXECUTOR_TOKEN: this.opts.token,
          LAKERAY_DRIVER_ID: id,
          LAKERAY_POOLS: JSON.stringify(this.opts.pools),
          PYTHONUNBUFFERED: '1',
        },
      },
      metadata: { lakeray_executor: this.opts.executor, lakeray_role: ROLE, lakeray_pools: this.poolsHash },
    });
    this.id = id;
    return id;
  }
}

const numberOfId = (id: string): number => Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
const numberOf = (j: RayJobDetails): number => (j.submission_id === null ? 0 : numberOfId(j.submission_id));
