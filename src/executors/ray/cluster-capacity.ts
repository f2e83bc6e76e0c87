/**
 * What a Ray cluster can place: the logical resources of its live nodes, read from Ray's state
 * API (`GET /api/v0/nodes`) and refreshed every `refreshMs`, so nodes an autoscaler adds or
 * removes change what Lakeray admits. `/api/cluster_status` has the same numbers, but only
 * while an autoscaler monitor runs and with custom resource names camel-cased
 * (`lakeray_test` → `lakerayTest`), so the node list is the source.
 *
 * A cluster that cannot be reached has no capacity (its tasks stay queued in Lakeray) and is
 * not healthy; tasks already running keep running.
 */
import { add, fits, resources, type Resources } from '../../domain/resources.ts';
import type { RayJobsClient, RayNode } from './jobs-client.ts';

const MiB = 1024 * 1024;
/** Ray's own bookkeeping resources, not something a task asks for. */
const NOT_SCHEDULABLE = /^(object_store_memory$|node:|accelerator_type:)/;

/** One node's logical resources in Lakeray's terms (memory in MiB, custom by Ray's name). */
export function resourcesOfNode(node: RayNode): Resources {
  const r = resources();
  for (const [name, value] of Object.entries(node.resources_total ?? {})) {
    if (!(value > 0)) continue;
    if (name === 'CPU') r.cpu += value;
    else if (name === 'GPU') r.gpu += value;
    else if (name === 'memory') r.memory_mb += value / MiB;
    else if (!NOT_SCHEDULABLE.test(name)) r.custom[name] = value;
  }
  r.memory_mb = Math.floor(r.memory_mb);
  r.gpu = Math.floor(r.gpu);
  return r;
}

const alive = (nodes: readonly RayNode[]): RayNode[] => nodes.filter((n) => n.state === 'ALIVE');

/** The sum of the live nodes' resources. */
export function capacityOfNodes(nodes: readonly RayNode[]): Resources {
  return alive(nodes).map(resourcesOfNode).reduce(add, resources());
}

const sameResources = (a: Resources, b: Resources): boolean =>
  a.cpu === b.cpu && a.gpu === b.gpu && a.memory_mb === b.memory_mb && JSON.stringify(a.custom) === JSON.stringify(b.custom);

export class ClusterCapacity {
  current: Resources = resources();
  /** Each live node's resources: a job's entrypoint runs on one of them. */
  nodes: readonly Resources[] = [];
  private error: string | undefined = 'not read from the cluster yet';
  private timer: NodeJS.Timeout | undefined;
  private listener: () => void = () => {};
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly client: Pick<RayJobsClient, 'nodes' | 'address'>,
    private readonly refreshMs: number,
  ) {}

  /** Called when the capacity or the health changed. */
  onChange(listener: () => void): void {
    this.listener = listener;
  }

  /** Whether some live node has `need` whole (the cluster's total may have it spread over several). */
  fitsOneNode(need: Resources): boolean {
    return this.nodes.some((node) => fits(need, node));
  }

  get health(): { ok: boolean; message?: string } {
    return this.error === undefined ? { ok: true } : { ok: false, message: `Ray at ${this.client.address}: ${this.error}` };
  }

  /** Read once now and then every refreshMs. */
  start(): Promise<void> {
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.refresh(), this.refreshMs);
      this.timer.unref();
    }
    return this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  refresh(): Promise<void> {
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async read(): Promise<void> {
    let nodes: Resources[];
    const wasOk = this.error === undefined;
    try {
      nodes = alive(await this.client.nodes()).map(resourcesOfNode);
      this.error = undefined;
    } catch (err) {
      this.error = (err as Error).message;
      nodes = [];
    }
    this.nodes = nodes;
    const next = nodes.reduce(add, resources());
    if (sameResources(next, this.current) && wasOk === (this.error === undefined)) return;
    this.current = next;
    this.listener();
  }
}
