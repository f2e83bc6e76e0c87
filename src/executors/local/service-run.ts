/**
 * The supervisor of one service task (task.service): a script whose run() starts an HTTP
 * server and never returns. It runs as a cold harness process of its own (never in a warm
 * pool), on a port allocated once for the whole task, and is supervised here:
 *
 *   allocate port ─▶ spawn ─▶ starting ─(GET health_path → 2xx)─▶ ready
 *        starting/ready ─(process ended, policy restarts, restarts left)─▶ restarting ─(backoff)─▶ spawn
 *        starting ─(no 2xx within startup_timeout_s)─▶ stop the process ─▶ failed SERVICE_UNHEALTHY
 *        any ─(cancel: SIGTERM, grace, SIGKILL)─▶ process gone ─▶ cancelled (never restarted)
 *        process ended, no restart (policy, or max_restarts reached) ─▶ its outcome
 *
 * Every state change is a `service` event ({state, port, restarts, url?}); every incarnation's
 * stdout/stderr and script events stream as the task's events. The task's `exit` callback
 * fires once, when the last incarnation's process group is gone.
 */
import { taskError, type TaskError } from '../../domain/errors.ts';
import { restartDelayMs, shouldRestart, type ServiceEndpoint, type ServiceSpec, type ServiceState } from '../../domain/service.ts';
import type { RunCallbacks, RunOutcome } from '../executor.ts';
import type { ColdRun } from './cold-run.ts';
import { waitHealthy } from './service-health.ts';
import { allocatePort, SERVICE_HOST } from './service-port.ts';
import { TaskRun, type LogLimits } from './task-run.ts';

/** An IPv6 address goes in brackets in a URL. */
const hostInUrl = (host: string): string => (host.includes(':') ? `[${host}]` : host);

export interface ServiceRunOptions {
  taskId: string;
  spec: ServiceSpec;
  callbacks: RunCallbacks;
  limits: LogLimits;
  /** Grace between SIGTERM and SIGKILL when the supervisor itself stops a process (unhealthy). */
  graceMs: number;
  /** Start one incarnation of the service listening on `port`; its outcome goes to `run`. */
  launch(port: number, run: TaskRun): ColdRun;
  /** Runs once, right before the task's exit callback (the executor forgets the placement). */
  onFinish(taskId: string): void;
  /** The host in the URL the service is reported at (other nodes' proxies use it); default 127.0.0.1. */
  advertiseHost?: string;
  /** Tests may pin the port. */
  allocatePort?: () => Promise<number>;
}

interface Incarnation {
  cold: ColdRun;
  run: TaskRun;
  probe: AbortController;
  startupTimer: NodeJS.Timeout;
}

/** "exited with code 1" / "returned" / the error's first line, for log lines. */
const describeEnd = (outcome: RunOutcome): string => {
  if (outcome.kind === 'completed') return 'run() returned';
  if (outcome.kind === 'cancelled') return 'was stopped';
  const first = outcome.error.message.split('\n', 1)[0] ?? '';
  return `failed (${outcome.error.code}: ${first})`;
};

export class ServiceRun {
  /** Resolves once the task's exit callback has fired. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private state: ServiceState = 'starting';
  private port: number | undefined;
  private restarts = 0;
  private current: Incarnation | undefined;
  /** Why the supervisor is stopping the process, when it is. */
  private stopping: 'cancel' | { unhealthy: TaskError } | null = null;
  private backoffTimer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(private readonly opts: ServiceRunOptions) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** The pid of the live incarnation, if any. */
  get pid(): number | undefined {
    return this.current?.cold.pid;
  }

  endpoint(): ServiceEndpoint | null {
    if (this.port === undefined || this.finished) return null;
    return { state: this.state, port: this.port, restarts: this.restarts, url: this.url() };
  }

  start(): void {
    (this.opts.allocatePort ?? allocatePort)().then(
      (port) => {
        if (this.finished) return;
        this.port = port;
        this.spawn();
      },
      (err: unknown) => this.finish({ kind: 'failed', error: taskError('EXECUTOR_ERROR', `could not allocate a port for the service: ${String(err)}`) }),
    );
  }

  /** Stop for good (user cancel, timeout, shutdown): no restart; `cancelled` once the process is gone. */
  cancel(graceMs: number): void {
    if (this.finished) return;
    this.stopping = 'cancel';
    const inc = this.current;
    if (inc === undefined) {
      // Between incarnations (backoff) or before the first one: no process to wait for.
      this.finish({ kind: 'cancelled' });
      return;
    }
    inc.probe.abort();
    inc.cold.cancel(inc.run, graceMs);
  }

  private url(): string {
    return `http://${SERVICE_HOST}:${this.port}`;
  }

  private spawn(): void {
    const port = this.port as number;
    const { spec, callbacks, limits } = this.opts;
    const run = new TaskRun(
      this.opts.taskId,
      {
        started: (info) => callbacks.started(info),
        event: (type, data) => callbacks.event(type, data),
        exit: (outcome) => this.ended(run, outcome),
      },
      limits,
    );
    let cold: ColdRun;
    try {
      cold = this.opts.launch(port, run);
    } catch (err) {
      this.finish({ kind: 'failed', error: taskError('EXECUTOR_ERROR', `could not start the service: ${String(err)}`) });
      return;
    }
    const started: Incarnation = { cold, run, probe: new AbortController(), startupTimer: setTimeout(() => this.unhealthy(started), spec.startup_timeout_s * 1000) };
    this.current = started;
    this.setState('starting');
    void waitHealthy(`${this.url()}${spec.health_path}`, started.probe.signal).then((healthy) => {
      if (!healthy || this.current !== started || this.stopping !== null || this.finished) return;
      clearTimeout(started.startupTimer);
      this.setState('ready');
    });
  }

  private unhealthy(inc: Incarnation): void {
    if (this.current !== inc || this.stopping !== null || this.finished) return;
    const { spec } = this.opts;
    const message = `the service did not answer GET ${spec.health_path} on port ${this.port} with a 2xx within ${spec.startup_timeout_s} s`;
    this.stopping = { unhealthy: taskError('SERVICE_UNHEALTHY', message) };
    this.log('warn', `${message}; stopping it`);
    inc.probe.abort();
    inc.cold.cancel(inc.run, this.opts.graceMs);
  }

  /** One incarnation's process group is gone (only the current one can end: they never overlap). */
  private ended(run: TaskRun, outcome: RunOutcome): void {
    const inc = this.current;
    if (inc?.run !== run) return;
    clearTimeout(inc.startupTimer);
    inc.probe.abort();
    this.current = undefined;
    if (this.finished) return;
    if (this.stopping === 'cancel') return this.finish({ kind: 'cancelled' });
    if (this.stopping !== null) return this.finish({ kind: 'failed', error: this.stopping.unhealthy });

    const { spec } = this.opts;
    const end = describeEnd(outcome);
    if (!shouldRestart(spec.restart, outcome.kind === 'completed')) return this.finish(outcome);
    if (this.restarts >= spec.max_restarts) {
      this.log('warn', `the service ${end}; not restarted: max_restarts (${spec.max_restarts}) reached`);
      if (outcome.kind !== 'failed') return this.finish(outcome);
      const suffix = this.restarts > 0 ? ` (after ${this.restarts} restart${this.restarts === 1 ? '' : 's'})` : '';
      return this.finish({ kind: 'failed', error: { ...outcome.error, message: `${outcome.error.message}${suffix}` } });
    }
    this.restarts += 1;
    const delay = restartDelayMs(this.restarts);
    this.log('warn', `the service ${end}; restarting on port ${this.port} in ${delay} ms (restart ${this.restarts} of ${spec.max_restarts})`);
    this.setState('restarting');
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (!this.finished && this.stopping === null) this.spawn();
    }, delay);
  }

  private finish(outcome: RunOutcome): void {
    if (this.finished) return;
    clearTimeout(this.backoffTimer);
    if (this.port !== undefined) this.setState('stopped');
    this.finished = true;
    this.opts.onFinish(this.opts.taskId);
    this.opts.callbacks.exit(outcome);
    this.resolveDone();
  }

  private setState(state: ServiceState): void {
    this.state = state;
    const data: Record<string, unknown> = { state, port: this.port, restarts: this.restarts };
    // Stored with the task's events: a proxy on another node connects there (engine serviceEndpoint).
    if (state === 'ready') data.url = `http://${hostInUrl(this.opts.advertiseHost ?? SERVICE_HOST)}:${this.port}`;
    this.opts.callbacks.event('service', data);
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.opts.callbacks.event('log', { level, message });
  }
}
