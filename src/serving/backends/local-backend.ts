/**
 * Replicas of a `local` deployment: each one is a service task on the local executor (so the
 * scheduler's ledger gives it its CPUs and GPUs like any task, and serving and batch work never
 * oversubscribe a device) running the platform's onnxruntime-node replica script. This class
 * starts them, follows them until their service answers its health check, hands ready ones to
 * the deployment (onReady), and reports the ones that end (onGone) so that it replaces them.
 */
import type { LakerayError } from '../../domain/errors.ts';
import type { Task } from '../../domain/task.ts';
import type { Caller, TaskService } from '../../engine/task-service.ts';
import type { ReplicaState } from '../types.ts';

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

export interface StartedReplica {
  id: string;
  taskId: string;
  url: string;
  gpus: string[];
}

export interface LocalBackendEvents {
  /** The replica's service passed its health check at `url`. */
  ready(replica: StartedReplica): void;
  /** The replica's task ended (or could not start); `error` says why when it failed. */
  gone(id: string, error: LakerayError | { code: string; message: string } | null): void;
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

export class LocalBackend {
  private readonly replicas = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private seq = 0;

  constructor(
    private readonly tasks: TaskService,
    private readonly caller: Caller,
    private plan: LocalReplicaPlan,
    private readonly events: LocalBackendEvents,
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

  list(): { id: string; task_id: string; state: ReplicaState; gpus: string[]; started_at: number }[] {
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

  /** A new model version or size applies to replicas started from now on. */
  replan(plan: LocalReplicaPlan): void {
    this.plan = plan;
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
    if (task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled') {
      return this.forget(r, r.stopping ? null : (task.error ?? { code: 'PROCESS_EXITED', message: `replica task ${task.id} ended ${task.status}` }));
    }
    if (r.state !== 'starting' || task.status !== 'running') return;
    const endpoint = await this.tasks.serviceEndpoint(this.caller, r.taskId).catch(() => null);
    if (endpoint?.state !== 'ready' || r.stopping) return;
    r.state = 'ready';
    r.gpus = task.assignment?.gpus ?? [];
    this.events.ready({ id: r.id, taskId: r.taskId, url: endpoint.url, gpus: r.gpus });
  }

  private forget(r: Tracked, error: { code: string; message: string } | null): void {
    this.replicas.delete(r.id);
    this.events.gone(r.id, error);
  }
}
