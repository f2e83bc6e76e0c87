/**
 * Service tasks (seed 004 §3.5): a task whose script starts a long-running HTTP server (e.g.
 * `mnist_serve.py` running uvicorn inside `run()`). The executor gives it a port, probes its
 * health path until it answers, restarts it per policy when it dies, and the API proxies
 * requests to it while it runs. Pure data: no I/O here.
 */

export const SERVICE_RESTART_POLICIES = ['on-failure', 'always', 'never'] as const;
export type ServiceRestartPolicy = (typeof SERVICE_RESTART_POLICIES)[number];

/** What a task asks for when it is a service (`task.service`; null for a normal task). */
export interface ServiceSpec {
  /** Probed with GET until it answers 2xx; then the service is `ready`. */
  health_path: string;
  /**
   * When the process ends: `on-failure` restarts it after an error, a crash or a kill not
   * asked for by the platform (a normal return of run() ends the task as succeeded);
   * `always` restarts it after any end; `never` ends the task with the process's outcome.
   */
  restart: ServiceRestartPolicy;
  /** Restarts allowed before the task fails with the last error. */
  max_restarts: number;
  /** Each start must pass the health check within this many seconds, else SERVICE_UNHEALTHY. */
  startup_timeout_s: number;
}

export const DEFAULT_SERVICE: Readonly<ServiceSpec> = Object.freeze({
  health_path: '/health',
  restart: 'on-failure',
  max_restarts: 3,
  startup_timeout_s: 120,
});

/**
 * Life of a running service, as `service` events report it:
 *   starting ─(health 2xx)─▶ ready ─(process ended, policy restarts)─▶ restarting ─▶ starting …
 *   any ─(cancel, policy says no more, too many restarts, unhealthy)─▶ stopped
 */
export const SERVICE_STATES = ['starting', 'ready', 'restarting', 'stopped'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

/** Where a running service of this server listens (in memory: services die with the server). */
export interface ServiceEndpoint {
  state: ServiceState;
  port: number;
  /** Restarts so far in this attempt. */
  restarts: number;
  /** The upstream base URL on this machine, e.g. http://127.0.0.1:41234 */
  url: string;
}

/** Decision after a service process ended (not stopped by the platform). Pure. */
export const shouldRestart = (policy: ServiceRestartPolicy, succeeded: boolean): boolean =>
  policy === 'always' || (policy === 'on-failure' && !succeeded);

/** Delay before restart number `n` (1-based): 200 ms doubling, capped at 5 s. */
export const restartDelayMs = (n: number): number => Math.min(5000, 200 * 2 ** Math.max(0, n - 1));
