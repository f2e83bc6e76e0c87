/**
 * One live deployment: its gateway (queue, batcher, router, stats) and its replicas, from a
 * backend (backends/serving-backend.ts). A replica pool (local) is kept at the size the
 * autoscaler asks for: replicas that die are replaced; replicas beyond the wanted size are
 * drained (their batches in flight finish) before their task is stopped, so scaling never
 * drops a request. A self-scaling backend (ray) sizes itself and says the status.
 */
import { LakerayError } from '../domain/errors.ts';
import { desiredReplicas, initialScaleMemory, type ScaleMemory } from './autoscale.ts';
import type { ReplicaPoolBackend, ServedReplica, ServingBackend } from './backends/serving-backend.ts';
import { batchSettingsOf, parseModelRef, type DeploymentSpec } from './deployment-spec.ts';
import { Gateway } from './gateway.ts';
import type { BatchSettings, ModelSignature, ReplicaState } from './types.ts';

export type DeploymentStatus = 'starting' | 'ready' | 'scaled_to_zero' | 'failed' | 'deleting';

export interface ReplicaStatus {
  id: string;
  state: ReplicaState;
  /** Rows sent to it and not answered yet. */
  load: number;
  gpus: string[];
  task_id: string | null;
  started_at: number;
}

const TICK_MS = 250;
/** Replica starts that fail in a row before the deployment reports `failed` (it keeps trying, slower). */
const FAILED_AFTER = 3;

export class Deployment {
  readonly gateway: Gateway;
  private readonly clients = new Map<string, ServedReplica>();
  private scale: ScaleMemory = initialScaleMemory();
  private timer: NodeJS.Timeout | null = null;
  private failuresInRow = 0;
  private lastFailure: string | null = null;
  private nextStartAt = 0;
  private coldSince: number | null = null;
  private deleting = false;
  private signatureWaiters: ((s: ModelSignature) => void)[] = [];

  constructor(
    public spec: DeploymentSpec,
    readonly tenant: string,
    readonly modelVersion: number,
    public signature: ModelSignature | null,
    readonly classes: string[] | null,
    readonly createdAt: number,
    public updatedAt: number,
    private readonly backend: ServingBackend,
    private readonly hooks: { signatureLearned(s: ModelSignature): void; onError(err: unknown, context: string): void },
  ) {
    this.gateway = new Gateway({ settings: this.gatewaySettings(spec), maxConcurrentBatches: backend.gatewayMode.maxConcurrentBatches });
    if (!backend.managesScale) {
      this.gateway.onDemand(() => this.tick());
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
    // A model never served here: start a replica once to learn its inputs, so the first
    // request or session chunk can be validated (with min 0 it retires when idle).
    if (!signature) void this.waitSignature(spec.request_timeout_ms * 6).catch(() => undefined);
  }

  /** A backend that batches itself (Serve) gets each request alone: batching twice only adds waiting. */
  private gatewaySettings(spec: DeploymentSpec): BatchSettings {
    const settings = batchSettingsOf(spec);
    return this.backend.gatewayMode.batching ? settings : { ...settings, enable_dynamic_batching: false };
  }

  /** The lake model's name (spec.model without @version). */
  get modelName(): string {
    return parseModelRef(this.spec.model).name;
  }

  get status(): DeploymentStatus {
    if (this.deleting) return 'deleting';
    if (this.backend.managesScale) return this.backend.health().status;
    if (this.clients.size > 0) return 'ready';
    if (this.failuresInRow >= FAILED_AFTER) return 'failed';
    if (this.backend.active === 0) return 'scaled_to_zero';
    return 'starting';
  }

  get error(): string | null {
    if (this.backend.managesScale) return this.backend.health().error;
    return this.failuresInRow >= FAILED_AFTER ? this.lastFailure : null;
  }

  replicaStatus(): ReplicaStatus[] {
    const load = new Map(this.gateway.stats().replicas.map((r) => [r.id, r.rows_in_flight]));
    return this.backend.list().map((r) => ({ id: r.id, state: r.state, load: load.get(r.id) ?? 0, gpus: r.gpus, task_id: r.task_id, started_at: r.started_at }));
  }

  /** The model's inputs and outputs; a deployment that never ran a replica starts one to learn them. */
  async waitSignature(deadlineMs: number): Promise<ModelSignature> {
    if (this.signature) return this.signature;
    return new Promise((resolve, reject) => {
      const waiter = (s: ModelSignature) => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        this.signatureWaiters = this.signatureWaiters.filter((w) => w !== waiter);
        reject(new LakerayError('REPLICA_UNAVAILABLE', `deployment "${this.spec.name}": no replica became ready within ${deadlineMs} ms${this.lastFailure ? ` (${this.lastFailure})` : ''}`, undefined, 1000));
      }, deadlineMs);
      this.signatureWaiters.push(waiter);
      this.coldSince ??= Date.now();
      this.tick();
    });
  }

  /** Live settings: batch settings apply to the next batch; replica bounds on the next tick (or the backend's re-deploy). */
  reconfigure(spec: DeploymentSpec, updatedAt: number): void {
    this.spec = spec;
    this.updatedAt = updatedAt;
    this.gateway.reconfigure(this.gatewaySettings(spec));
    this.backend.apply(spec);
    this.tick();
  }

  /** Drain every replica, then stop them; queued requests fail with DEPLOYMENT_NOT_FOUND. */
  async delete(): Promise<void> {
    this.deleting = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.clients.keys()].map((id) => this.gateway.drainReplica(id).catch(() => undefined)));
    this.gateway.close(new LakerayError('DEPLOYMENT_NOT_FOUND', `deployment "${this.spec.name}" was deleted`));
    for (const c of this.clients.values()) void c.close();
    this.clients.clear();
    await this.backend.remove();
  }

  /** Server shutdown: stop replicas without draining (their requests fail as the server goes). */
  async close(): Promise<void> {
    this.deleting = true;
    if (this.timer) clearInterval(this.timer);
    this.gateway.close(new LakerayError('NOT_READY', 'the server is shutting down'));
    for (const c of this.clients.values()) void c.close();
    this.clients.clear();
    await this.backend.close();
  }

  // — backend events —

  replicaReady(replica: ServedReplica, signature: ModelSignature): void {
    if (this.deleting) {
      void replica.close();
      if (!this.backend.managesScale) void this.backend.stop(replica.id);
      return;
    }
    if (!this.signature) {
      this.signature = signature;
      this.hooks.signatureLearned(signature);
    }
    this.failuresInRow = 0;
    this.clients.set(replica.id, replica);
    this.gateway.addReplica(replica);
    if (this.coldSince !== null) {
      this.gateway.recordColdStart(Date.now() - this.coldSince);
      this.coldSince = null;
    }
    for (const w of this.signatureWaiters.splice(0)) w(signature);
  }

  replicaGone(id: string, error: { code: string; message: string } | null): void {
    const client = this.clients.get(id);
    if (client) {
      this.clients.delete(id);
      this.gateway.removeReplica(id);
      void client.close();
    }
    if (error && !this.deleting) {
      this.failuresInRow++;
      this.lastFailure = `${error.code}: ${error.message}`;
      // Back off restarts of a replica that keeps failing: 0.5 s, 1 s, 2 s … 30 s.
      this.nextStartAt = Date.now() + Math.min(30_000, 250 * 2 ** Math.min(this.failuresInRow, 7));
      this.hooks.onError(new Error(this.lastFailure), `replica ${id} of deployment "${this.spec.name}" ended`);
    }
    this.tick();
  }

  // — sizing —

  private tick(): void {
    if (this.deleting || this.backend.managesScale) return;
    try {
      this.resize(this.backend);
    } catch (err) {
      this.hooks.onError(err, `sizing deployment "${this.spec.name}"`);
    }
  }

  private resize(backend: ReplicaPoolBackend): void {
    // Every tick (4 a second), under load too: the cheap figures, not stats()'s percentiles.
    const stats = this.gateway.load();
    const now = Date.now();
    const active = backend.active;
    const waiting = stats.queue_rows + this.signatureWaiters.length;
    const { replicas: want, memory } = desiredReplicas(
      { now, replicas: active, queueRows: waiting, inFlightRows: stats.in_flight_rows, maxBatchSize: this.spec.max_batch_size, idleForMs: this.signatureWaiters.length > 0 ? null : this.gateway.idleForMs() },
      this.spec.replicas,
      this.scale,
    );
    this.scale = memory;
    if (want > active) {
      if (now < this.nextStartAt) return;
      if (active === 0 && waiting > 0) this.coldSince ??= now;
      for (let i = active; i < want; i++) void backend.start().catch((err) => this.startFailed(err));
    } else if (want < active) {
      this.retire(backend, active - want);
    }
  }

  private startFailed(err: unknown): void {
    this.failuresInRow++;
    this.lastFailure = err instanceof Error ? err.message : String(err);
    this.nextStartAt = Date.now() + Math.min(30_000, 250 * 2 ** Math.min(this.failuresInRow, 7));
    this.hooks.onError(err, `starting a replica of deployment "${this.spec.name}"`);
  }

  /** Retire `n` replicas: starting ones first (nothing to drain), then the least loaded ready ones. */
  private retire(backend: ReplicaPoolBackend, n: number): void {
    const load = new Map(this.gateway.stats().replicas.map((r) => [r.id, r.rows_in_flight]));
    const order = backend
      .list()
      .filter((r) => r.state !== 'draining')
      .sort((a, b) => (a.state === 'starting' ? -1 : 0) - (b.state === 'starting' ? -1 : 0) || (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0));
    for (const r of order.slice(0, n)) {
      if (!this.clients.has(r.id)) {
        void backend.stop(r.id);
        continue;
      }
      void this.gateway
        .drainReplica(r.id)
        .catch((err) => this.hooks.onError(err, `draining replica ${r.id}`))
        .finally(() => {
          const client = this.clients.get(r.id);
          this.clients.delete(r.id);
          this.gateway.removeReplica(r.id);
          void client?.close();
          void backend.stop(r.id);
        });
      // Counted as going at once: the next tick must not retire another for the same reason.
      backend.markDraining(r.id);
    }
  }
}
