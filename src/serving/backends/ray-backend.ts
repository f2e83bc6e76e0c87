/**
 * A `ray` deployment's backend: the deployment as one Ray Serve application on a Ray head
 * (src/serving/ray/, docs/serving-ray.md), sized by Serve's own autoscaler.
 *
 * Mode machine, run by one loop (`sync`, never two at once):
 *   - the wanted spec differs from the one Serve last took, or Serve lists no application of
 *     ours (a fresh deployment, a server restart, someone deleted it) → PUT it. The same
 *     config again is a no-op for Serve; a new `user_config` (batch settings) is applied by
 *     the replicas' `reconfigure` without restarting them.
 *   - the app's status is the deployment's: DEPLOYING/NOT_STARTED → starting, RUNNING →
 *     ready (scaled_to_zero with no replica at min 0), DEPLOY_FAILED/UNHEALTHY → failed with
 *     Serve's reason; a PUT or GET that fails → failed with the Ray API's error, retried.
 *   - the first time the app is RUNNING, the app's route becomes the gateway's one replica
 *     (RayServeReplica) once it answers GET /signature; Serve routes inside it.
 * The PUT is async on purpose: a create or PATCH answers at once (like a local replica
 * starting), and a head that is down at start does not stop the server.
 */
import type { DeploymentSpec } from '../deployment-spec.ts';
import type { RayServeBackend, RayServeDeploySpec } from '../ray/ray-serve-backend.ts';
import type { RayServeReplica } from '../ray/ray-serve-replica.ts';
import { serveAppFailure, serveReplicaStatus, type ServeAppDetails } from '../ray/serve-client.ts';
import type { BackendEvents, BackendReplicaView, BackendStatus, GatewayMode, SelfScalingBackend } from './serving-backend.ts';

export interface RayTarget {
  serve: RayServeBackend;
  /** Lakeray's API as the Ray nodes reach it (the Serve app reads model.onnx there). */
  lakerayUrl(): string | undefined;
}

export interface RayModel {
  deployment: string;
  model: string;
  version: number;
  /** The model-read token the replicas fetch model.onnx with (serve-config.ts lakerayToken). */
  token: string;
}

/**
 * Batches the gateway keeps in flight to the app's route: Serve batches them, and its proxy
 * queues what its replicas' max_ongoing_requests cannot take yet; one sent at a time would
 * leave every Serve batch at one request.
 */
const CONCURRENT_BATCHES = 256;
const POLL_MS = { changing: 1000, steady: 3000, failing: 5000 };

export class RayBackend implements SelfScalingBackend {
  readonly managesScale = true;
  readonly gatewayMode: GatewayMode = { batching: false, maxConcurrentBatches: CONCURRENT_BATCHES };
  private wanted: Omit<RayServeDeploySpec, 'lakerayUrl'> | null = null;
  /** JSON of the spec Serve last took from us (null: PUT on the next sync). */
  private deployed: string | null = null;
  private app: ServeAppDetails | null = null;
  private replica: RayServeReplica | null = null;
  private apiError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly target: RayTarget,
    private readonly model: RayModel,
    spec: DeploymentSpec,
    private readonly events: BackendEvents,
    private readonly onError: (err: unknown, context: string) => void,
  ) {
    this.apply(spec);
  }

  get active(): number {
    return this.list().filter((r) => r.state !== 'draining').length;
  }

  list(): BackendReplicaView[] {
    return this.app ? serveReplicaStatus(this.app).map(({ load: _load, ...r }) => r) : [];
  }

  health(): { status: BackendStatus; error: string | null } {
    if (this.apiError !== null) return { status: 'failed', error: this.apiError };
    const app = this.app;
    if (app?.status === 'DEPLOY_FAILED' || app?.status === 'UNHEALTHY') return { status: 'failed', error: `Serve application ${app.status}: ${serveAppFailure(app)}` };
    if (app?.status !== 'RUNNING' || this.replica === null) return { status: 'starting', error: null };
    return { status: this.list().length === 0 ? 'scaled_to_zero' : 'ready', error: null };
  }

  apply(spec: DeploymentSpec): void {
    this.wanted = {
      deployment: this.model.deployment,
      model: this.model.model,
      version: this.model.version,
      lakerayToken: this.model.token,
      replicas: spec.replicas,
      resources: spec.resources,
      max_batch_size: spec.max_batch_size,
      batch_timeout_ms: spec.batch_timeout_ms,
      enable_dynamic_batching: spec.enable_dynamic_batching,
    };
    this.kick();
  }

  async remove(): Promise<void> {
    await this.close();
    await this.target.serve.remove(this.model.deployment);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    const replica = this.replica;
    this.replica = null;
    if (replica) {
      this.events.gone(replica.id, null);
      await replica.close();
    }
  }

  /** Sync now, or right after the sync that is running. */
  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.running = this.sync().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        return this.kick();
      }
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.closed) return;
    const status = this.health().status;
    const ms = this.apiError !== null ? POLL_MS.failing : status === 'starting' ? POLL_MS.changing : POLL_MS.steady;
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  private async sync(): Promise<void> {
    const serve = this.target.serve;
    try {
      this.app = await serve.application(this.model.deployment);
      const lakerayUrl = this.target.lakerayUrl();
      const wanted = this.wanted && lakerayUrl !== undefined ? { ...this.wanted, lakerayUrl } : null;
      if (this.wanted && !wanted) throw new Error('the server does not know its own URL yet (the Serve app reads the model from it)');
      if (wanted && (this.app === null || JSON.stringify(wanted) !== this.deployed)) {
        await serve.put(wanted);
        this.deployed = JSON.stringify(wanted);
        this.app = await serve.application(this.model.deployment);
      }
      this.apiError = null;
    } catch (err) {
      this.apiError = `Ray Serve: ${(err as Error).message}`;
      return;
    }
    if (this.app === null && this.replica) {
      // Gone from Serve behind our back: the next sync PUTs it again.
      const replica = this.replica;
      this.replica = null;
      this.events.gone(replica.id, { code: 'REPLICA_UNAVAILABLE', message: `Serve application of "${this.model.deployment}" disappeared` });
      void replica.close();
    }
    if (this.app?.status === 'RUNNING' && this.replica === null && !this.closed) await this.connect();
  }

  /** The app's route as the gateway's replica, once it answers with the model's signature. */
  private async connect(): Promise<void> {
    let replica: RayServeReplica | null = null;
    try {
      replica = await this.target.serve.replica(this.model.deployment, CONCURRENT_BATCHES);
      const signature = await replica.signature();
      if (this.closed) return void (await replica.close());
      this.replica = replica;
      this.events.ready(replica, signature);
    } catch (err) {
      await replica?.close();
      this.onError(err, `reaching the Serve application of "${this.model.deployment}"`);
    }
  }
}
