/**
 * The Ray executor in mode `job` (issue 12 §2, seed 000): one Ray Job per task attempt, over the
 * Ray Jobs REST API. The queue stays in Lakeray: the engine admits against the cluster's live
 * resources (ClusterCapacity), and `reserve` also bounds how many of our jobs wait in PENDING on
 * Ray (`maxPending`), so a burst of tasks never becomes a burst of submissions Ray's GCS has to
 * absorb. See docs/ray.md for what runs where.
 *
 * Events: the job's harness reports over HTTP (LAKERAY_REPORT_URL, its task token), and the
 * executor opens the task's channel in the reports hub (`reports`) when it submits or
 * re-attaches the job; Ray's log is read for the task's log lines only.
 *
 * Restarts: a job is named `lr-<task>-<attempt>`, so a later server instance finds it whatever
 * the store recorded (`reattach`): still running → followed again, over → its outcome, unknown
 * to Ray → gone. Settled jobs are deleted from Ray after `retentionMs` by a sweep over Ray's job
 * list (this executor's jobs only, by metadata), which also catches jobs a previous instance
 * settled but never deleted.
 */
import { LakerayError, taskError } from '../../domain/errors.ts';
import { describe as describeResources, type Resources } from '../../domain/resources.ts';
import type { Task } from '../../domain/task.ts';
import { resolveScriptCached } from '../../runtime/paths.ts';
import { ENV } from '../../runtime/protocol.ts';
import type { Executor, ExecutorSettings, Placement, Reattached, RunCallbacks, RunOutcome } from '../executor.ts';
import type { TaskReportAccess } from '../task-reports.ts';
import { ClusterCapacity } from './cluster-capacity.ts';
import { JobReport, type LogLimits } from './job-report.ts';
import { jobRequest, submissionIdOf } from './job-request.ts';
import { RayJobRun, type JobPhase, type JobRunTiming } from './job-run.ts';
import { isTerminalJobStatus, RayJobsClient, type RaySubmitRequest } from './jobs-client.ts';
import { ScriptPackages } from './script-packages.ts';

type Logger = { warn(o: unknown, msg?: string): void; info(o: unknown, msg?: string): void };

export interface RayJobExecutorOptions {
  name: string;
  /** the Ray dashboard (Jobs REST API), e.g. http://127.0.0.1:8265 */
  address: string;
  token?: string;
  scriptRoots: string[];
  dataRoots: string[];
  /** the repository's runtimes/ directory: runtimes/python/lakeray goes to the cluster as py_modules */
  runtimesDir: string;
  /** the interpreter on the cluster's nodes (it must have Ray); default `python` */
  python?: string;
  apiUrl?: string | (() => string | undefined);
  /** How the jobs report back: the hub, the platform's URL as the cluster reaches it, the task tokens. */
  reports: TaskReportAccess;
  settings: ExecutorSettings;
  timing?: Partial<JobRunTiming>;
  /** jobs of ours that may wait in PENDING on Ray at once */
  maxPending?: number;
  /** the most the cluster may grow to (its autoscaler's bound); submit checks tasks against it */
  maxCapacity?: Resources;
  /** settled jobs are deleted from Ray after this long */
  retentionMs?: number;
  capacityRefreshMs?: number;
  limits?: Partial<LogLimits>;
  logger?: Logger;
}

export const RAY_JOB_DEFAULTS = {
  timing: { pollMs: 200, maxPollMs: 1_000, submitDeadlineMs: 5 * 60_000, lostAfterMs: 5 * 60_000 },
  maxPending: 4,
  retentionMs: 60 * 60_000,
  capacityRefreshMs: 5_000,
  limits: { maxLineBytes: 16 * 1024, maxLogBytes: 10 * 1024 * 1024 },
} as const;

export class RayJobExecutor implements Executor {
  readonly kind = 'ray';
  readonly name: string;
  readonly settings: ExecutorSettings;
  readonly client: RayJobsClient;
  readonly maxCapacity: Resources | undefined;
  private readonly cluster: ClusterCapacity;
  private readonly packages: ScriptPackages;
  private readonly runs = new Map<string, RayJobRun>();
  /** The reports channel of each followed task. */
  private readonly channels = new Map<string, { close(): void }>();
  private readonly timing: JobRunTiming;
  private readonly limits: LogLimits;
  private readonly maxPending: number;
  private readonly retentionMs: number;
  private roomListener: () => void = () => {};
  private capacityListener: () => void = () => {};
  private sweeper: NodeJS.Timeout | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(private readonly opts: RayJobExecutorOptions) {
    this.name = opts.name;
    this.settings = opts.settings;
    this.maxCapacity = opts.maxCapacity;
    this.client = new RayJobsClient({ address: opts.address, token: opts.token });
    this.cluster = new ClusterCapacity(this.client, opts.capacityRefreshMs ?? RAY_JOB_DEFAULTS.capacityRefreshMs);
    this.packages = new ScriptPackages(this.client, opts.runtimesDir);
    this.timing = { ...RAY_JOB_DEFAULTS.timing, ...opts.timing };
    this.limits = { ...RAY_JOB_DEFAULTS.limits, ...opts.limits };
    this.maxPending = opts.maxPending ?? RAY_JOB_DEFAULTS.maxPending;
    this.retentionMs = opts.retentionMs ?? RAY_JOB_DEFAULTS.retentionMs;
    this.cluster.onChange(() => {
      this.capacityListener();
      this.roomListener(); // a cluster that answers again has room
    });
    void this.cluster.start();
  }

  get capacity(): Resources {
    return this.cluster.current;
  }

  /** Ray places GPUs itself (CUDA_VISIBLE_DEVICES from entrypoint_num_gpus): these ids only count them. */
  get gpuInventory(): readonly string[] {
    return Array.from({ length: this.cluster.current.gpu }, (_, i) => `ray-gpu-${i}`);
  }

  onCapacity(listener: () => void): void {
    this.capacityListener = listener;
  }

  /** Capacity as read now (tests, start-up: the first read is under way when the constructor returns). */
  refreshCapacity(): Promise<void> {
    return this.cluster.refresh();
  }

  health(): { ok: boolean; message?: string } {
    return this.cluster.health;
  }

  unplaceable(need: Resources): string | null {
    if (this.maxCapacity !== undefined || !this.cluster.health.ok || this.cluster.fitsOneNode(need)) return null;
    const nodes = this.cluster.nodes.map((n) => describeResources(n)).join('; ');
    return `no single node of Ray at ${this.client.address} has it, and a job's entrypoint runs on one node (its nodes: ${nodes})`;
  }

  /** Room while the cluster answers and fewer than maxPending of our jobs wait on Ray. */
  reserve(): boolean {
    if (this.closing) return true; // run() fails it at once
    if (!this.cluster.health.ok) return false;
    let waiting = 0;
    for (const run of this.runs.values()) if (run.phase === 'submitting' || run.phase === 'pending') waiting++;
    return waiting < this.maxPending;
  }

  onRoom(listener: () => void): void {
    this.roomListener = listener;
  }

  run(task: Task, _gpus: readonly string[], callbacks: RunCallbacks): void {
    const fail = (message: string) => queueMicrotask(() => callbacks.exit({ kind: 'failed', error: taskError('EXECUTOR_ERROR', message) }));
    if (this.closing) return fail(`executor ${this.name} is closing`);
    if (this.runs.has(task.id)) return fail(`task ${task.id} is already running here`);
    this.startSweeper();
    const run = this.track(task, callbacks);
    void run.submit(() => this.request(task)).catch((err: unknown) => this.crashed(task.id, err));
  }

  cancel(taskId: string): void {
    this.runs.get(taskId)?.cancel();
  }

  async reattach(tasks: readonly Task[], callbacks: (task: Task) => RunCallbacks): Promise<Map<string, Reattached>> {
    const answers = new Map<string, Reattached>();
    for (const task of tasks) {
      const id = placedId(task.assignment?.placement) ?? submissionIdOf(task.id, task.attempt);
      const job = await this.client.get(id); // throws when Ray cannot be asked: the engine asks again later
      if (job === null) {
        answers.set(task.id, { state: 'gone', reason: `Ray at ${this.client.address} does not know job ${id}` });
      } else if (job.status === 'SUCCEEDED') {
        // Its harness exits 0 only once its outcome was acked: a previous instance took it and
        // stopped before settling the task, so nothing is left to settle it with.
        answers.set(task.id, { state: 'gone', reason: `Ray job ${id} succeeded while no server followed it; its outcome went to a server instance that stopped before storing it` });
      } else if (isTerminalJobStatus(job.status)) {
        const report = new JobReport(id, task.id, { kind: 'ray-job', submission_id: id, address: this.client.address }, noCallbacks, this.limits);
        report.quiet = true;
        const finished = new RayJobRun(this.client, id, report, this.timing, () => {});
        answers.set(task.id, { state: 'finished', outcome: await finished.outcomeOf(job) });
      } else {
        const run = this.track(task, callbacks(task), id);
        void run.attach(job).catch((err: unknown) => this.crashed(task.id, err));
        answers.set(task.id, { state: 'running' });
      }
    }
    this.startSweeper();
    return answers;
  }

  /** Closing twice is closing once. */
  close(): Promise<void> {
    this.closed ??= this.stopFollowing();
    return this.closed;
  }

  private async stopFollowing(): Promise<void> {
    // Jobs keep running on Ray: a later instance re-attaches to them. Only following stops.
    this.closing = true;
    this.cluster.stop();
    clearInterval(this.sweeper);
    for (const run of this.runs.values()) run.detach();
    for (const channel of this.channels.values()) channel.close();
    this.runs.clear();
    this.channels.clear();
    await this.client.close();
  }

  private track(task: Task, callbacks: RunCallbacks, id = submissionIdOf(task.id, task.attempt)): RayJobRun {
    const placement: Placement = { kind: 'ray-job', submission_id: id, address: this.client.address };
    const report = new JobReport(id, task.id, placement, callbacks, this.limits);
    // Opened before the job exists, so its first report finds the channel; the sink is
    // synchronous, so a message is in the report before the harness's batch is acked.
    const channel = this.opts.reports.reports.open(task.id, task.attempt, (message) => {
      report.message(message);
      if (message.type === 'done') run.ending();
    });
    const run: RayJobRun = new RayJobRun(this.client, id, report, this.timing, (phase: JobPhase, outcome?: RunOutcome) => {
      if (phase === 'running' || phase === 'over') this.roomListener();
      if (phase !== 'over') return;
      // A job Ray lost (head restarted): the new head holds none of the packages we remember.
      if (outcome?.kind === 'failed' && outcome.error.code === 'EXECUTOR_LOST') this.packages.forget();
      channel.close();
      this.channels.delete(task.id);
      this.runs.delete(task.id);
      callbacks.exit(outcome!);
      this.roomListener();
    });
    this.runs.set(task.id, run);
    this.channels.set(task.id, channel);
    return run;
  }

  private async request(task: Task): Promise<RaySubmitRequest> {
    const script = resolveScriptCached(task.script, this.opts.scriptRoots);
    const [runtimeUri, workingDirUri] = await Promise.all([this.packages.runtime(), this.packages.scriptFolder(script)]);
    const apiUrl = typeof this.opts.apiUrl === 'function' ? this.opts.apiUrl() : this.opts.apiUrl;
    const { url, token } = this.opts.reports;
    const reportUrl = (typeof url === 'function' ? url() : url) ?? apiUrl;
    if (reportUrl === undefined) throw new LakerayError('EXECUTOR_ERROR', `executor ${this.name} knows no URL the Ray cluster can report to (is the server listening yet?)`);
    return jobRequest(task, script, {
      env: { [ENV.REPORT_URL]: reportUrl, [ENV.TASK_TOKEN]: token(task.id, task.attempt) },
      executor: this.name,
      python: this.opts.python ?? 'python',
      dataRoots: this.opts.dataRoots,
      apiUrl,
      workingDirUri,
      runtimeUri,
    });
  }

  /** A bug in following a job must not leave its task running forever. */
  private crashed(taskId: string, err: unknown): void {
    this.opts.logger?.warn({ err, taskId }, 'following a Ray job failed');
    this.runs.get(taskId)?.abandon(taskError('EXECUTOR_ERROR', `following the Ray job failed: ${String(err)}`));
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined || this.closing) return;
    const every = Math.max(1_000, Math.min(this.retentionMs / 2, 10 * 60_000));
    this.sweeper = setInterval(() => void this.sweep().catch((err: unknown) => this.opts.logger?.warn({ err }, 'sweeping settled Ray jobs failed')), every);
    this.sweeper.unref();
  }

  /** Delete this executor's settled jobs older than the retention (their logs are stored as events). */
  async sweep(now = Date.now()): Promise<number> {
    let deleted = 0;
    for (const job of await this.client.list()) {
      if (job.metadata?.lakeray_executor !== this.name || job.submission_id === null || !isTerminalJobStatus(job.status)) continue;
      if (job.end_time === null || now - job.end_time < this.retentionMs) continue;
      if ([...this.runs.values()].some((r) => r.submissionId === job.submission_id)) continue;
      if (await this.client.delete(job.submission_id).catch(() => false)) deleted++;
    }
    return deleted;
  }
}

const placedId = (placement: Placement | undefined): string | undefined =>
  placement?.kind === 'ray-job' && typeof placement.submission_id === 'string' ? placement.submission_id : undefined;

const noCallbacks: RunCallbacks = { started: () => {}, event: () => {}, exit: () => {} };
