/**
 * What the running tasks of one executor hold: resources in total and per tenant, and the
 * concrete GPU ids. The dispatcher reserves here before it starts a task and releases when
 * the executor reports the process gone, so capacity is never over-admitted.
 *
 * Capacity may change at run time (a Ray cluster's nodes come and go): `resize` takes the
 * executor's new capacity. What runs keeps its hold when capacity shrinks below it (`free`
 * goes negative and nothing is admitted until enough ends).
 *
 * A listener hears every hold and release (fair share charges a tenant from its task's hold to
 * its release; the GPU meter charges GPU-seconds over the same span).
 */
import { pickDevices } from '../domain/gpu.ts';
import { add, sub, ZERO, type Resources } from '../domain/resources.ts';

export interface LedgerListener {
  held(taskId: string, tenant: string, resources: Resources, capacity: Resources): void;
  released(taskId: string, tenant: string, resources: Resources): void;
}

export class Ledger {
  used: Resources = ZERO;
  readonly byTenant = new Map<string, Resources>();
  private readonly gpus = new Map<string, string[]>(); // task id → device ids
  private readonly holds = new Map<string, { tenant: string; resources: Resources }>();
  private readonly tenantHolds = new Map<string, number>();

  constructor(
    public capacity: Resources,
    public gpuInventory: readonly string[],
    private readonly listener?: LedgerListener,
  ) {}

  resize(capacity: Resources, gpuInventory: readonly string[]): void {
    this.capacity = capacity;
    this.gpuInventory = gpuInventory;
  }

  get free(): Resources {
    return sub(this.capacity, this.used);
  }

  get count(): number {
    return this.holds.size;
  }

  /** Reserve for a task; returns its GPU ids, or null when the devices are not free. */
  hold(taskId: string, tenant: string, resources: Resources): string[] | null {
    const devices = resources.gpu > 0 ? pickDevices(this.gpuInventory, [...this.gpus.values()].flat(), resources.gpu) : [];
    if (devices === null) return null;
    this.take(taskId, tenant, resources, devices);
    return devices;
  }

  /**
   * What a task re-attached after a restart already holds (its stored devices), whatever is
   * free: it runs, so it counts. A second call for the same task changes nothing.
   */
  adopt(taskId: string, tenant: string, resources: Resources, devices: readonly string[]): void {
    if (!this.holds.has(taskId)) this.take(taskId, tenant, resources, [...devices]);
  }

  private take(taskId: string, tenant: string, resources: Resources, devices: string[]): void {
    this.holds.set(taskId, { tenant, resources });
    if (devices.length) this.gpus.set(taskId, devices);
    this.used = add(this.used, resources);
    this.byTenant.set(tenant, add(this.byTenant.get(tenant) ?? ZERO, resources));
    this.tenantHolds.set(tenant, (this.tenantHolds.get(tenant) ?? 0) + 1);
    this.listener?.held(taskId, tenant, resources, this.capacity);
  }

  release(taskId: string): void {
    const h = this.holds.get(taskId);
    if (!h) return;
    this.holds.delete(taskId);
    this.gpus.delete(taskId);
    this.used = sub(this.used, h.resources);
    const left = (this.tenantHolds.get(h.tenant) ?? 1) - 1;
    if (left === 0) {
      this.tenantHolds.delete(h.tenant);
      this.byTenant.delete(h.tenant);
    } else {
      this.tenantHolds.set(h.tenant, left);
      this.byTenant.set(h.tenant, sub(this.byTenant.get(h.tenant) ?? ZERO, h.resources));
    }
    if (this.holds.size === 0) this.used = ZERO; // wipe float drift
    this.listener?.released(taskId, h.tenant, h.resources);
  }

  /** How many tasks of `tenant` hold resources here. */
  holdsOf(tenant: string): number {
    return this.tenantHolds.get(tenant) ?? 0;
  }

  /** The tenants holding resources here. */
  tenants(): IterableIterator<string> {
    return this.tenantHolds.keys();
  }

  has(taskId: string): boolean {
    return this.holds.has(taskId);
  }
}
