/**
 * An executor whose tasks outlive the server instance that started them, as a Ray cluster's
 * do, for the engine's re-attach tests (test/integration/engine). Its tasks run on a
 * "cluster" (one per owner in this test process) of real harness processes (a LocalExecutor);
 * an executor instance only follows them. `crash()` is the server dying: its instance stops
 * hearing about its tasks, which run on; a new instance with the same owner re-attaches to
 * them. Events a task reports while nobody follows it wait for the next follower (a remote
 * harness retries its reports until a server acks them). The cluster remembers how a task
 * ended (as Ray remembers a job until its retention ends). It passes the Executor conformance
 * suite with `reattach: 'follows'` (surviving-conformance.test.ts).
 */
import { fits, type Resources } from '../../../src/domain/resources.ts';
import type { Task } from '../../../src/domain/task.ts';
import type { Executor, ExecutorSettings, Reattached, RunCallbacks, RunOutcome } from '../../../src/executors/executor.ts';
import type { LocalExecutor } from '../../../src/executors/local/local-executor.ts';

interface ClusterTask {
  follower: RunCallbacks | null;
  /** What arrived while nobody followed the task. */
  missed: ((cb: RunCallbacks) => void)[];
  outcome: RunOutcome | null;
}

export class Cluster {
  readonly tasks = new Map<string, ClusterTask>();
  /** An unreachable cluster: reattach throws, health is not ok. */
  reachable = true;
  capacity: Resources;
  maxCapacity: Resources | undefined;
  /** Its nodes, when the test gives it some: a task must fit one of them whole (`unplaceable`). */
  nodes: Resources[] | undefined;

  constructor(
    readonly owner: string,
    readonly local: LocalExecutor,
  ) {
    this.capacity = local.capacity;
  }
}

export class SurvivingExecutor implements Executor {
  readonly kind = 'surviving';
  readonly settings: ExecutorSettings;
  private readonly following = new Set<string>();
  private capacityListener: () => void = () => {};

  constructor(
    private readonly cluster: Cluster,
    readonly name = 'cluster',
  ) {
    this.settings = cluster.local.settings;
  }

  get capacity(): Resources {
    return this.cluster.capacity;
  }

  get maxCapacity(): Resources | undefined {
    return this.cluster.maxCapacity;
  }

  unplaceable(need: Resources): string | null {
    const nodes = this.cluster.nodes;
    return nodes === undefined || nodes.some((n) => fits(need, n)) ? null : 'no single node has it';
  }

  get gpuInventory(): readonly string[] {
    return this.cluster.local.gpuInventory;
  }

  onCapacity(listener: () => void): void {
    this.capacityListener = listener;
  }

  /** The cluster grew or shrank. */
  resize(capacity: Resources): void {
    this.cluster.capacity = capacity;
    this.capacityListener();
  }

  health(): { ok: boolean; message?: string } {
    return this.cluster.reachable ? { ok: true } : { ok: false, message: `cluster ${this.cluster.owner} is unreachable` };
  }

  run(task: Task, gpus: readonly string[], callbacks: RunCallbacks): void {
    const entry: ClusterTask = { follower: callbacks, missed: [], outcome: null };
    this.cluster.tasks.set(task.id, entry);
    this.following.add(task.id);
    const tell = (what: (cb: RunCallbacks) => void): void => {
      if (entry.follower) what(entry.follower);
      else entry.missed.push(what);
    };
    const placement = { kind: 'cluster-task', owner: this.cluster.owner, task_id: task.id };
    this.cluster.local.run(task, gpus, {
      started: (info) => tell((cb) => cb.started({ placement, ...(info.entered_at === undefined ? {} : { entered_at: info.entered_at }) })),
      event: (type, data) => tell((cb) => cb.event(type, data)),
      exit: (outcome) => {
        entry.outcome = outcome;
        tell((cb) => cb.exit(outcome));
      },
    });
  }

  cancel(taskId: string, graceMs?: number): void {
    if (this.following.has(taskId)) this.cluster.local.cancel(taskId, graceMs);
  }

  async reattach(tasks: readonly Task[], callbacks: (task: Task) => RunCallbacks): Promise<Map<string, Reattached>> {
    if (!this.cluster.reachable) throw new Error(`cluster ${this.cluster.owner} is unreachable`);
    const answers = new Map<string, Reattached>();
    for (const task of tasks) {
      const entry = this.cluster.tasks.get(task.id);
      if (entry === undefined) {
        answers.set(task.id, { state: 'gone', reason: 'the cluster does not know it' });
      } else if (entry.outcome !== null) {
        answers.set(task.id, { state: 'finished', outcome: entry.outcome });
      } else {
        const cb = callbacks(task);
        entry.follower = cb;
        this.following.add(task.id);
        // Started already: only what it reported since the crash is replayed.
        for (const what of entry.missed.splice(0)) what(cb);
        answers.set(task.id, { state: 'running' });
      }
    }
    return answers;
  }

  /** The server dies: nobody hears about this instance's tasks any more; they run on. */
  crash(): void {
    for (const id of this.following) {
      const entry = this.cluster.tasks.get(id);
      if (entry) entry.follower = null;
    }
    this.following.clear();
  }

  /** The instance goes away; its tasks run on, on the cluster (a Ray job outlives its server). */
  async close(): Promise<void> {
    this.crash();
  }
}
