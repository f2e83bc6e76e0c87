/**
 * The Ray executor in mode `actors` (issue 12 contract D, docs/ray.md "Mode actors"): warm
 * actor pools run by one long-lived driver job per executor (driver-job.ts), which PULLS its
 * work from Lakeray (POST /api/v1/executors/{name}/driver/poll → `poll()` here).
 *
 * Room: a task gets room (`reserve`) when its pool has a free actor slot as the driver's last
 * poll said, less the tasks handed out since (not yet in a poll), plus the slots of tasks
 * that ended here but that poll still listed running (their outcome reaches us a moment
 * before the driver sees the call return; the driver waits that moment rather than start a
 * cold actor). `onRoom` fires on every poll that changes the room and on every exit.
 *
 * The driver is watched: a driver Ray says is over, or that has not polled for `silentMs`,
 * is replaced (its actors die with it, so its tasks fail EXECUTOR_LOST and the engine retries).
 * After a server restart, `reattach` adopts the live driver and follows the tasks its next
 * poll lists running; the rest are gone. Tasks the driver runs that nobody claimed are cancelled.
 */
import { taskError } from '../../../domain/errors.ts';
import type { DriverPoll, DriverPollAnswer, PolledExecutor } from '../../../domain/driver-poll.ts';
import { resources as makeResources, type Resources, ZERO } from '../../../domain/resources.ts';
import type { Task } from '../../../domain/task.ts';
import { resolveScriptCached } from '../../../runtime/paths.ts';
import type { Executor, ExecutorSettings, Reattached, RunCallbacks } from '../../executor.ts';
import type { LogLimits } from '../../local/task-run.ts';
import { jobError, jobOf } from '../job-request.ts';
import { isTerminalJobStatus, RayJobsClient } from '../jobs-client.ts';
import type { RayJobExecutorOptions } from '../ray-job-executor.ts';
import { ScriptPackages } from '../script-packages.ts';
import type { TaskReports } from '../../task-reports.ts';
import { ActorTask } from './actor-task.ts';
import { DriverJob, type ActorPoolConfig } from './driver-job.ts';
import { DriverMailbox } from './driver-mailbox.ts';

/** The job executor's connection, roots and settings, plus the pools and what the poll protocol needs. */
export interface RayActorsExecutorOptions
  extends Pick<RayJobExecutorOptions, 'name' | 'address' | 'token' | 'scriptRoots' | 'dataRoots' | 'runtimesDir' | 'python' | 'apiUrl' | 'settings' | 'logger'> {
  pools: Record<string, ActorPoolConfig>;
  /** the token the driver polls with (TaskTokens.mintExecutor) */
  executorToken: string;
  /** a task's own token, for its reports (TaskTokens.mint) */
  taskToken(taskId: string, attempt: number): string;
  reports: TaskReports;
  /** how long a poll is held when there is no work */
  pollWaitMs?: number;
  /** a driver that has not polled for this long is replaced */
  silentMs?: number;
  /** a new driver may take this long to poll the first time (Ray sets up its runtime env) */
  startDeadlineMs?: number;
  watchMs?: number;
  /** Ray unreachable and the driver silent this long: its tasks are lost (EXECUTOR_LOST) */
  lostAfterMs?: number;
  limits?: Partial<LogLimits>;
}

export const RAY_ACTORS_DEFAULTS = { pollWaitMs: 20_000, silentMs: 60_000, startDeadlineMs: 5 * 60_000, watchMs: 2_000, lostAfterMs: 5 * 60_000 } as const;
/** Deeper params than this would break the driver's JSON decoder (Python's recursion limit), wedging every task. */
export const MAX_PARAMS_DEPTH = 200;
const LIMITS: LogLimits = { maxLineBytes: 16 * 1024, maxLogBytes: 10 * 1024 * 1024 };

export class RayActorsExecutor implements Executor, PolledExecutor {
  readonly kind = 'ray';
  readonly name: string;
  readonly settings: ExecutorSettings;
  readonly client: RayJobsClient;
  readonly driver: DriverJob;
  private readonly packages: ScriptPackages;
  private readonly mailbox: DriverMailbox;
  private readonly tasks = new Map<string, ActorTask>();
  private readonly reserved = new Map<string, string>();
  /**
   * Tasks that ended here, by id: their pool, and how many polls since did not list them. A
   * poll may still list one running (its actor's call has not returned yet): its slot is free
   * then, and the task is not an orphan. Forgotten once two polls in a row did not list it (the
   * driver's poller sends its next poll before the answer's run items start, so one poll's
   * snapshot can be older than the task).
   */
  private readonly released = new Map<string, { pool: string; unlisted: number }>();
  private readonly o: Required<Pick<RayActorsExecutorOptions, 'pollWaitMs' | 'silentMs' | 'startDeadlineMs' | 'watchMs' | 'lostAfterMs'>>;
  private lastPoll: DriverPoll | undefined;
  private lastPollAt = 0;
  /** a poll arrived or ended (a held poll is a driver alive: its connection ends when the driver dies) */
  private lastHeardAt = 0;
  private polls = 0;
  private driverSince = 0;
  private adopted = false;
  private reattached = false;
  private watcher: NodeJS.Timeout | undefined;
  private watching: Promise<void> | undefined;
  private healthy: { ok: boolean; message?: string } = { ok: false, message: 'the driver has not polled yet' };
  private roomListener: () => void = () => {};
  private capacityListener: () => void = () => {};
  private currentCapacity: Resources;
  private closing = false;

  constructor(private readonly opts: RayActorsExecutorOptions) {
    this.name = opts.name;
    this.settings = opts.settings;
    this.o = { ...RAY_ACTORS_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof this.o;
    this.client = new RayJobsClient({ address: opts.address, token: opts.token });
    this.packages = new ScriptPackages(this.client, opts.runtimesDir);
    this.mailbox = new DriverMailbox(this.o.pollWaitMs);
    this.driver = new DriverJob(this.client, {
      executor: opts.name,
      python: opts.python ?? 'python',
      pools: opts.pools,
      token: opts.executorToken,
      apiUrl: () => (typeof opts.apiUrl === 'function' ? opts.apiUrl() : opts.apiUrl),
      runtime: () => this.packages.runtime(),
    });
    this.maxCapacity = this.slotsCapacity(Object.fromEntries(Object.entries(opts.pools).map(([p, c]) => [p, c.max_actors])));
    this.currentCapacity = this.maxCapacity;
    this.watcher = setInterval(() => void this.watch(), this.o.watchMs);
    this.watcher.unref();
    void this.watch();
  }

  /**
   * The most the configured pools can place (every pool at `max_actors`): submit refuses only a
   * task beyond it; one that fits but finds the actors busy (or the driver not polling) waits.
   */
  readonly maxCapacity: Resources;

  /** The actors' resources, per pool: its slots (free + busy, as the driver reports them) × an actor's (a gang's) resources. */
  get capacity(): Resources {
    return this.currentCapacity;
  }

  /** Ray places GPUs itself: these ids only count them. */
  get gpuInventory(): readonly string[] {
    return Array.from({ length: this.currentCapacity.gpu }, (_, i) => `ray-gpu-${i}`);
  }

  onCapacity(listener: () => void): void {
    this.capacityListener = listener;
  }

  onRoom(listener: () => void): void {
    this.roomListener = listener;
  }

  health(): { ok: boolean; message?: string } {
    return this.healthy;
  }

  reserve(task: Task): boolean {
    const pool = this.poolOf(task);
    if (this.closing || pool === undefined) return true; // run() fails it at once
    if (this.lastPoll === undefined || !this.healthy.ok) return false;
    if (this.room(pool) <= 0) return false;
    this.reserved.set(task.id, pool);
    return true;
  }

  unreserve(taskId: string): void {
    this.reserved.delete(taskId);
  }

  run(task: Task, _gpus: readonly string[], callbacks: RunCallbacks): void {
    this.reserved.delete(task.id);
    const fail = (message: string) => queueMicrotask(() => callbacks.exit({ kind: 'failed', error: taskError('EXECUTOR_ERROR', message) }));
    if (this.closing) return fail(`executor ${this.name} is closing`);
    if (this.tasks.has(task.id)) return fail(`task ${task.id} is already running here`);
    const pool = this.poolOf(task);
    if (pool === undefined) return fail(`executor ${this.name} has no pool "${task.pool}" (pools: ${Object.keys(this.opts.pools).join(', ')})`);
    const t = this.track(task, pool, callbacks);
    void this.send(t).catch((err: unknown) => t.finish({ kind: 'failed', error: jobError(err) }));
  }

  cancel(taskId: string, graceMs?: number): void {
    const t = this.tasks.get(taskId);
    if (t === undefined || t.done) return;
    t.requestCancel();
    if (t.phase === 'preparing') return; // send() sees it
    if (t.phase === 'queued' && this.mailbox.takeBack(taskId)) return t.finish({ kind: 'cancelled' });
    this.mailbox.cancel(taskId, graceMs ?? this.settings.graceMs);
  }

  async reattach(tasks: readonly Task[], callbacks: (task: Task) => RunCallbacks): Promise<Map<string, Reattached>> {
    await this.watching;
    if (this.driver.id === undefined) await this.watch();
    if (this.driver.id === undefined) throw new Error(`executor ${this.name}: no driver on Ray at ${this.client.address} yet`);
    const answers = new Map<string, Reattached>();
    if (this.adopted) {
      // what runs is what the adopted driver's next poll says
      const since = this.polls;
      const deadline = Date.now() + Math.min(this.o.silentMs, 30_000);
      while (this.polls === since && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (this.polls === since) throw new Error(`executor ${this.name}: driver ${this.driver.id} has not polled yet`);
    }
    const running = new Set(this.adopted ? this.lastPoll?.running : []);
    for (const task of tasks) {
      const pool = this.poolOf(task);
      if (running.has(task.id) && pool !== undefined && !this.tasks.has(task.id)) {
        const t = this.track(task, pool, callbacks(task), true);
        t.phase = 'seen';
        answers.set(task.id, { state: 'running' });
      } else {
        answers.set(task.id, { state: 'gone', reason: `driver ${this.driver.id} of executor ${this.name} does not run it` });
      }
    }
    this.reattached = true;
    return answers;
  }

  /** A poll of the driver (the route's handler). */
  poll(body: DriverPoll, gone: AbortSignal): Promise<DriverPollAnswer> {
    if (this.closing) return this.mailbox.wait(gone);
    if (this.driver.id !== undefined && body.driver_id !== this.driver.id) return this.mailbox.wait(gone, true);
    this.polls++;
    this.lastPoll = body;
    this.lastPollAt = Date.now();
    this.healthy = { ok: true };
    const listed = new Set([...body.running, ...body.done.map((d) => d.task_id)]);
    for (const d of body.done) {
      const t = this.tasks.get(d.task_id);
      if (t !== undefined && t.task.attempt === d.attempt) t.driverDone(d.error);
    }
    for (const [id, r] of this.released) {
      if (body.running.includes(id)) r.unlisted = 0;
      else if (++r.unlisted >= 2) this.released.delete(id);
    }
    const orphans: string[] = [];
    for (const id of body.running) if (!this.tasks.has(id) && !this.released.has(id) && this.reattached) orphans.push(id);
    for (const t of this.tasks.values()) {
      if (listed.has(t.id)) t.phase = t.phase === 'sent' || t.phase === 'seen' ? 'seen' : t.phase;
      // an answer that never reached the driver: it does not know the task (a retry runs it)
      else if (t.phase === 'seen' || (t.phase === 'sent' && this.polls >= t.sentAtPoll + 2 && Date.now() - t.sentAtMs > 3_000)) t.fail(`driver ${body.driver_id} does not run the task (its run item was lost, or its actor is gone)`);
    }
    for (const id of orphans) this.mailbox.cancel(id, this.settings.graceMs);
    this.updateCapacity(body);
    this.roomListener();
    this.lastHeardAt = Date.now();
    return this.mailbox.wait(gone).finally(() => (this.lastHeardAt = Date.now()));
  }

  async close(): Promise<void> {
    // The driver and its tasks run on: a later server instance adopts them (reattach).
    this.closing = true;
    clearInterval(this.watcher);
    this.mailbox.close();
    for (const t of this.tasks.values()) t.detach();
    this.tasks.clear();
    await this.watching;
    await this.client.close();
  }

  /** Stop the driver job (tests; an executor taken out of the config). */
  stopDriver(): Promise<void> {
    return this.driver.stop();
  }

  private track(task: Task, pool: string, callbacks: RunCallbacks, attached = false): ActorTask {
    const placement = { kind: 'ray-actor', pool, driver: this.driver.id ?? null, address: this.client.address };
    const t = new ActorTask(task, pool, placement, callbacks, this.opts.reports, { ...LIMITS, ...this.opts.limits }, (done) => {
      if (this.tasks.get(done.id) !== done) return;
      this.tasks.delete(done.id);
      this.released.set(done.id, { pool: done.pool, unlisted: 0 });
      queueMicrotask(() => this.roomListener());
    }, attached);
    this.tasks.set(task.id, t);
    return t;
  }

  private async send(t: ActorTask): Promise<void> {
    const script = resolveScriptCached(t.task.script, this.opts.scriptRoots);
    const apiUrl = typeof this.opts.apiUrl === 'function' ? this.opts.apiUrl() : this.opts.apiUrl;
    const { job } = jobOf(t.task, script, { dataRoots: this.opts.dataRoots, apiUrl });
    if (depthOf(t.task.params, MAX_PARAMS_DEPTH) > MAX_PARAMS_DEPTH) {
      return t.finish({ kind: 'failed', error: taskError('JOB_UNREADABLE', `params are nested deeper than ${MAX_PARAMS_DEPTH} levels; the driver could not decode them`) });
    }
    const pkg = await this.packages.scriptFolder(script);
    if (t.done) return;
    if (t.cancelRequested) return t.finish({ kind: 'cancelled' });
    t.phase = 'queued';
    t.sentAtPoll = this.polls;
    t.sentAtMs = Date.now();
    this.mailbox.run({ task_id: t.id, attempt: t.task.attempt, token: this.opts.taskToken(t.id, t.task.attempt), pool: t.pool, job: job as unknown as Record<string, unknown>, package: pkg });
    if (t.phase === 'queued') t.phase = 'sent';
  }

  private room(pool: string): number {
    let room = (this.lastPoll?.capacity[pool] ?? 0) - [...this.reserved.values()].filter((p) => p === pool).length;
    for (const t of this.tasks.values()) if (t.pool === pool && t.phase !== 'seen') room--;
    // A released task the last poll counted busy is a free slot; one it did not list was free in it already.
    for (const [id, r] of this.released) if (r.pool === pool && this.lastPoll?.running.includes(id)) room++;
    return room;
  }

  private poolOf(task: Task): string | undefined {
    const names = Object.keys(this.opts.pools);
    if (task.pool !== null) return names.includes(task.pool) ? task.pool : undefined;
    return names[0];
  }

  private slotsCapacity(slots: Record<string, number>): Resources {
    let total = ZERO;
    for (const [pool, n] of Object.entries(slots)) {
      const c = this.opts.pools[pool];
      if (c === undefined) continue;
      const g = c.gang;
      const r = makeResources({ cpu: c.num_cpus * g * n, gpu: c.num_gpus * g * n, custom: Object.fromEntries(Object.entries(c.resources).map(([k, v]) => [k, v * g * n])) });
      total = { cpu: total.cpu + r.cpu, memory_mb: 0, gpu: total.gpu + r.gpu, custom: { ...total.custom, ...Object.fromEntries(Object.entries(r.custom).map(([k, v]) => [k, (total.custom[k] ?? 0) + v])) } };
    }
    return total;
  }

  /**
   * The pools' slots as the driver counts them: free + busy. Busy includes tasks this instance
   * does not follow (yet): after a restart the adopted driver's first poll lists tasks not
   * re-attached; counting only the followed ones left a full pool at capacity 0. A driver older
   * than `busy` runs `max_actors` slots per pool (its free = max_actors - busy).
   */
  private updateCapacity(body: DriverPoll): void {
    const slots: Record<string, number> = {};
    for (const [pool, free] of Object.entries(body.capacity)) {
      const max = this.opts.pools[pool]?.max_actors ?? free;
      slots[pool] = free + (body.busy?.[pool] ?? Math.max(0, max - free));
    }
    const next = this.slotsCapacity(slots);
    if (JSON.stringify(next) === JSON.stringify(this.currentCapacity)) return;
    this.currentCapacity = next;
    this.capacityListener();
  }

  /** Find or start the driver; replace it when Ray says it is over or it went silent. */
  private watch(): Promise<void> {
    this.watching ??= this.watchOnce()
      .catch((err: unknown) => {
        this.healthy = { ok: false, message: `Ray at ${this.client.address}: ${String(err)}` };
        this.loseSilentTasks(String(err));
        this.opts.logger?.warn({ err, executor: this.name }, 'watching the actors driver failed');
      })
      .finally(() => (this.watching = undefined));
    return this.watching;
  }

  /**
   * Ray cannot be asked about the driver, and the driver has not polled for `lostAfterMs`:
   * nothing tells us its tasks still run, so they are lost rather than left `running`. (A
   * driver that still polls while only the dashboard is unreachable keeps its tasks.)
   */
  private loseSilentTasks(why: string): void {
    if (this.closing || this.tasks.size === 0) return;
    const silentFor = Date.now() - Math.max(this.lastHeardAt, this.driverSince);
    if (silentFor <= this.o.lostAfterMs || this.mailbox.holding) return;
    const message = `Ray at ${this.client.address} was unreachable and driver ${this.driver.id ?? '(none)'} silent for ${Math.round(silentFor / 1000)} s: ${why}`;
    for (const t of [...this.tasks.values()]) t.fail(message, 'EXECUTOR_LOST');
  }

  private async watchOnce(): Promise<void> {
    if (this.closing) return;
    if (this.driver.id === undefined) {
      this.adopted = (await this.driver.ensure()).adopted;
      this.driverSince = Date.now();
      return;
    }
    const job = await this.driver.status();
    const silentFor = Date.now() - Math.max(this.lastPollAt, this.driverSince);
    const limit = this.lastPollAt > this.driverSince ? this.o.silentMs : this.o.startDeadlineMs;
    const why = job === null ? 'Ray does not know it' : isTerminalJobStatus(job.status) ? `it is ${job.status}${job.message ? `: ${job.message}` : ''}` : silentFor > limit ? `it has not polled for ${Math.round(silentFor / 1000)} s` : null;
    if (why === null) return;
    const old = this.driver.id;
    this.healthy = { ok: false, message: `driver ${old} was replaced: ${why}` };
    this.lastPoll = undefined;
    this.released.clear();
    for (const t of [...this.tasks.values()]) t.fail(`the executor's driver ${old} ended (${why}); its actors are gone`, 'EXECUTOR_LOST');
    this.packages.forget(); // a driver Ray does not know: the head may have restarted without our packages
    await this.driver.replace();
    this.driverSince = Date.now();
    this.opts.logger?.warn({ executor: this.name, old, driver: this.driver.id, why }, 'actors driver replaced');
  }
}

/** How deep `value` nests (stops counting past `limit`). */
function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || typeof value !== 'object' || value === null) return depth;
  let deepest = depth;
  for (const v of Object.values(value)) deepest = Math.max(deepest, depthOf(v, limit, depth + 1));
  return deepest;
}
