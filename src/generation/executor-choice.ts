/**
 * Which configured executor runs a catalog model. A model's `executor` names either an
 * executor (`executors.<name>` of lakeray.yaml) or a kind of executor: the Wan2.2 models say
 * `executor: ray` and run on whichever Ray executor the server has, whatever its name
 * (`executors.gpu-cluster: {kind: ray, …}`). A name wins over a kind; a kind must match
 * exactly one executor. Pure: the service passes what the engine has configured.
 */

export interface CatalogExecutor {
  /** 'local', 'ray', … */
  kind: string;
  /** Runs command lines (entrypoint templates), not only scripts. */
  runsCommands: boolean;
}

export type ExecutorChoice = { name: string; executor: CatalogExecutor } | { reason: string };

/**
 * The catalog's view of the engine's executors. An executor states its kind (port v2's
 * `Executor.kind`); one that does not is the local executor, the only kind before that.
 * No executor of this version runs command lines: Ray's runs the harness, like the local one.
 */
export function catalogExecutors(executors: ReadonlyMap<string, object>): Map<string, CatalogExecutor> {
  const kindOf = (e: object): string => ('kind' in e && typeof e.kind === 'string' ? e.kind : 'local');
  return new Map([...executors].map(([name, e]) => [name, { kind: kindOf(e), runsCommands: false }]));
}

/** How to give the server an executor of a kind, for the message of an unavailable model. */
const HOW_TO_CONFIGURE: Readonly<Record<string, string>> = {
  ray:
    'add a Ray executor to lakeray.yaml, e.g. `executors: {ray: {kind: ray, address: http://<ray-head>:8265}}` ' +
    "(the address of the cluster's dashboard / Jobs API; see docs/ray.md), and restart the server",
};

export function chooseExecutor(wanted: string, executors: ReadonlyMap<string, CatalogExecutor>): ExecutorChoice {
  const named = executors.get(wanted);
  if (named) return { name: wanted, executor: named };
  const ofKind = [...executors].filter(([, e]) => e.kind === wanted);
  const only = ofKind.length === 1 ? ofKind[0] : undefined;
  if (only) return { name: only[0], executor: only[1] };
  if (ofKind.length > 1)
    return { reason: `several executors are of kind "${wanted}" (${ofKind.map(([n]) => n).join(', ')}): name one in the model's executor field` };
  const how = HOW_TO_CONFIGURE[wanted];
  return { reason: how ? `no executor of kind "${wanted}" is configured on this server: ${how}` : `executor "${wanted}" is not configured on this server` };
}
