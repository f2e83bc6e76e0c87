/**
 * Replicas of a `local` deployment: each one is a service task on the local executor (so the
 * scheduler's ledger gives it its CPUs and GPUs like any task, and serving and batch work never
 * oversubscribe a device) running the platform's onnxruntime-node replica script. This class
 * starts them, follows them until their service answers its health check and gives the model's
 * signature, hands ready ones to the deployment (events.ready), and reports the ones that end
 * (events.gone) so that it replaces them. A replica pool: the deployment decides how many.
 */
import type { LakerayError } from '../../domain/errors.ts';
import type { Task } from '../../domain/task.ts';
import type { Caller, TaskService } from '../../engine/task-service.ts';
import type { DeploymentSpec } from '../deployment-spec.ts';
import { ReplicaClient } from '../local/replica-client.ts';
import type { ReplicaState } from '../types.ts';
import type { BackendEvents, BackendReplicaView, GatewayMode, ReplicaPoolBackend } from './serving-backend.ts';

/** The script of every local replica (runtimes/serving, a built-in script root). */
export const REPLICA_SCRIPT = 'lakeray-onnx-replica.mjs';
/** Replica tasks are named after their deployment, so a restarted server finds leftovers by name. */
export const replicaTaskName = (deployment: string): string => `serve/${deployment}`;

export interface LocalReplicaPlan {
  deployment: string;
  model: string;
  version: number;
  /** CPU cores per replica = onnxruntime intra-op threads. */
  cpu: number;
  gpu: number;
  executor: string;
  /** Seconds a replica may take to load its model and pass its health check. */
  startupTimeoutS: number;
}

interface Tracked {
  id: string;
  taskId: string;
  state: ReplicaState;
  gpus: string[];
  startedAt: number;
  /** Being drained or asked to stop: its end is expected, not a failure to replace. */
  stopping: boolean;
}

const POLL_STARTING_MS = 50;
const POLL_RUNNING_MS = 500;

export class LocalBackend implements ReplicaPoolBackend {
  readonly managesScale = false;
  /** A replica process runs one session.run at a time: the gateway batches. */
  readonly gatewayMode: GatewayMode = { batching: true, maxConcurrentBatches: 1 };
  private readonly replicas = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private seq = 0;

  constructor(
    private readonly tasks: TaskService,
    private readonly caller: Caller,
    private plan: LocalReplicaPlan,
    private readonly events: BackendEvents,
    private readonly onError: (err: unknown, context: string) => void,
  ) {}

  /** Replicas starting or running (not those asked to stop). */
  get active(): number {
    let n = 0;
    for (const r of this.replicas.values()) if (!r.stopping) n++;
    return n;
  }

  get starting(): number {
    let n = 0;
    for (const r of this.replicas.values()) if (!r.stopping && r.state === 'starting') n++;
    return n;
  }

  list(): BackendReplicaView[] {
    return [...this.replicas.values()].map((r) => ({ id: r.id, task_id: r.taskId, state: r.stopping ? 'draining' : r.state, gpus: r.gpus, started_at: r.startedAt }));
  }

  /** Submit one replica task; it is followed until ready or gone. */
  async start(): Promise<string> {
    const id = `r${++this.seq}-${Date.now().toString(36)}`;
    const p = this.plan;
    // Counted at once (taskId comes with the submit), so a tick meanwhile does not start another.
    const tracked: Tracked = { id, taskId: '', state: 'starting', gpus: [], startedAt: Date.now(), stopping: false };
    this.replicas.set(id, tracked);
    try {
      const [submitted] = await this.tasks.submit(this.caller, [
        {
          name: replicaTaskName(p.deployment),
          script: REPLICA_SCRIPT,
          executor: p.executor,
          params: { model: p.model, version: p.version, threads: p.cpu, deployment: p.deployment, replica: id },
          resources: { cpu: p.cpu, gpu: p.gpu },
          max_attempts: 1,
          labels: { 'lakeray.deployment': p.deployment, 'lakeray.replica': id },
          service: { health_path: '/health', restart: 'never', max_restarts: 0, startup_timeout_s: p.startupTimeoutS },
        },
      ]);
      tracked.taskId = (submitted as { task: Task }).task.id;
    } catch (err) {
      this.replicas.delete(id);
      throw err;
    }
    if (tracked.stopping) void this.stop(id);
    this.schedule(0);
    return id;
  }

  /** The deployment drains it: it no longer counts as active (stop() follows once drained). */
  markDraining(id: string): void {
    const r = this.replicas.get(id);
    if (r) r.stopping = true;
  }

  /** Cancel a replica's task (after the deployment drained it). */
  async stop(id: string): Promise<void> {
    const r = this.replicas.get(id);
    if (!r) return;
    r.stopping = true;
    if (r.taskId === '') return; // still submitting: start() stops it once it has its task
    try {
      await this.tasks.cancel(this.caller, r.taskId);
    } catch (err) {
      // Already over (TASK_NOT_CANCELLABLE): the next poll forgets it.
      if ((err as LakerayError).code !== 'TASK_NOT_CANCELLABLE') this.onError(err, `stopping replica ${id}`);
    }
    this.schedule(0);
  }

  /** New sizes apply to replicas started from now on. */
  apply(spec: DeploymentSpec): void {
    this.plan = { ...this.plan, cpu: spec.resources.cpu, gpu: spec.resources.gpu };
  }

  /** Local replicas die with the deployment and with the server alike. */
  remove(): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.replicas.keys()].map((id) => this.stop(id)));
    this.replicas.clear();
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    this.timer = null;
    for (const r of [...this.replicas.values()]) {
      try {
        await this.follow(r);
      } catch (err) {
        this.onError(err, `following replica ${r.id}`);
      }
    }
    if (this.replicas.size === 0) return;
    const starting = [...this.replicas.values()].some((r) => r.state === 'starting' || r.stopping);
    this.schedule(starting ? POLL_STARTING_MS : POLL_RUNNING_MS);
  }

  private async follow(r: Tracked): Promise<void> {
    if (r.taskId === '') return;
    let task: Task;
    try {
      task = await this.tasks.get(this.caller, r.taskId);
    } catch {
      return this.forget(r, { code: 'TASK_LOST', message: `replica task ${r.taskId} is gone` });
    }
    if (task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled') {
      return this.forget(r, r.stopping ? null : (task.error ?? { code: 'PROCESS_EXITED', message: `replica task ${task.id} ended ${task.status}` }));
    }
    if (r.state !== 'starting' || task.status !== 'running') return;
    const endpoint = await this.tasks.serviceEndpoint(this.caller, r.taskId).catch(() => null);
    if (endpoint?.state !== 'ready' || r.stopping) return;
    r.state = 'ready';
    r.gpus = task.assignment?.gpus ?? [];
    const client = new ReplicaClient({ id: r.id, url: endpoint.url, gpus: r.gpus });
    try {
      const signature = await client.signature(AbortSignal.timeout(30_000));
      if (r.stopping || this.closed) throw new Error('stopped while starting');
      this.events.ready(client, signature);
    } catch (err) {
      await client.close();
      if (!r.stopping) this.onError(err, `reading the signature of replica ${r.id}`);
      await this.stop(r.id);
    }
  }

  private forget(r: Tracked, error: { code: string; message: string } | null): void {
    this.replicas.delete(r.id);
    this.events.gone(r.id, error);
  }
}
