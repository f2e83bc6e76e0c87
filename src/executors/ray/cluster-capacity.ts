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
import { resources, type Resources } from '../../domain/resources.ts';
import type { RayJobsClient, RayNode } from './jobs-client.ts';

const MiB = 1024 * 1024;
/** Ray's own bookkeeping resources, not something a task asks for. */
const NOT_SCHEDULABLE = /^(object_store_memory$|node:|accelerator_type:)/;

/** The sum of the live nodes' resources, in Lakeray's terms (memory in MiB, custom by Ray's name). */
export function capacityOfNodes(nodes: readonly RayNode[]): Resources {
  const total = resources();
  for (const node of nodes) {
    if (node.state !== 'ALIVE') continue;
    for (const [name, value] of Object.entries(node.resources_total ?? {})) {
      if (!(value > 0)) continue;
      if (name === 'CPU') total.cpu += value;
      else if (name === 'GPU') total.gpu += value;
      else if (name === 'memory') total.memory_mb += value / MiB;
      else if (!NOT_SCHEDULABLE.test(name)) total.custom[name] = (total.custom[name] ?? 0) + value;
    }
  }
  total.memory_mb = Math.floor(total.memory_mb);
  total.gpu = Math.floor(total.gpu);
  return total;
}

const sameResources = (a: Resources, b: Resources): boolean =>
  a.cpu === b.cpu && a.gpu === b.gpu && a.memory_mb === b.memory_mb && JSON.stringify(a.custom) === JSON.stringify(b.custom);

export class ClusterCapacity {
  current: Resources = resources();
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
    let next: Resources;
    const wasOk = this.error === undefined;
    try {
      next = capacityOfNodes(await this.client.nodes());
      this.error = undefined;
    } catch (err) {
      this.error = (err as Error).message;
      next = resources();
    }
    if (sameResources(next, this.current) && wasOk === (this.error === undefined)) return;
    this.current = next;
    this.listener();
  }
}
