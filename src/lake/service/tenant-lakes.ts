/**
 * The lake as tenants see it: one namespace per tenant (docs/security.md "The lake"). Tenant T's
 * tables, lineage log and snapshot files live under `<lake_root>/tenants/T/` and
 * `<state_dir>/lake-snapshots/tenants/T/`; the `default` tenant keeps the root itself, so a
 * lake made before tenants existed opens unchanged. Nothing is shared between namespaces (no
 * table, no lineage row, no pin, no snapshot file), so no query can reach across: a table of
 * another tenant is simply not there (DATASET_NOT_FOUND), whatever the name.
 *
 * A namespace is opened on its tenant's first lake call and stays open until close().
 */
import type { Task } from '../../domain/task.ts';
import type { TaskStore } from '../../store/task-store.ts';
import type { EventBus } from '../../events/event-bus.ts';
import type { Lake, LakeKind, LineageLog } from '../lake.ts';
import type { SnapshotCache } from '../snapshot-cache.ts';
import { LakeService, type TableDeletes } from './lake-service.ts';

/** What a tenant's namespace is made of; `close` releases the lake and its lineage log. */
export interface Namespace {
  lake: Lake;
  lineage: LineageLog;
  snapshots?: SnapshotCache;
  close(): Promise<void>;
}

/** Deletes told between nodes (events/lake-invalidations.ts; the lake knows it only by this shape). */
interface Invalidations extends TableDeletes {
  subscribe(handlers: { table(t: { tenant: string; kind: string; name: string }): void; all(): void }): () => void;
}

/** Keeps the lake's root as its namespace: lakes made before tenants existed open unchanged. */
const DEFAULT_TENANT = 'default';

export interface TenantLakesDeps {
  /** The default tenant's service (main.ts made it; it owns its lake, closed by main). */
  defaultLake: LakeService;
  /** Opens tenant T's namespace (never called for `default`). */
  open(tenant: string): Promise<Namespace>;
  store: TaskStore;
  bus: EventBus;
  /** The tenant's lake storage quota in bytes (tenants.<T>.lake_bytes), null for none. */
  lakeBytes?: (tenant: string) => Promise<number | null>;
  /** Tells other nodes of this node's deletes, and them of ours (Redis bus only). */
  invalidations?: Invalidations;
}

export class TenantLakes {
  private readonly opened = new Map<string, Promise<{ service: LakeService; ns: Namespace }>>();

  constructor(private readonly deps: TenantLakesDeps) {
    const { invalidations } = deps;
    if (invalidations === undefined) return;
    deps.defaultLake.publishDeletesTo(invalidations);
    invalidations.subscribe({
      // A namespace not open here caches nothing of it.
      table: (t) => void this.ifOpen(t.tenant, (service) => service.dropCached(t.kind as LakeKind, t.name)),
      all: () => {
        this.deps.defaultLake.dropCached();
        for (const tenant of this.opened.keys()) void this.ifOpen(tenant, (service) => service.dropCached());
      },
    });
  }

  private async ifOpen(tenant: string, f: (service: LakeService) => void): Promise<void> {
    if (tenant === DEFAULT_TENANT) return f(this.deps.defaultLake);
    const entry = this.opened.get(tenant);
    if (entry === undefined) return;
    try {
      f((await entry).service);
    } catch {
      // a namespace that failed to open holds no cache
    }
  }

  /** The lake service of the tenant's namespace. */
  async of(tenant: string): Promise<LakeService> {
    if (tenant === DEFAULT_TENANT) return this.deps.defaultLake;
    let entry = this.opened.get(tenant);
    if (entry === undefined) {
      entry = (async () => {
        const ns = await this.deps.open(tenant);
        const { store, bus, lakeBytes } = this.deps;
        const service = new LakeService({ lake: ns.lake, lineage: ns.lineage, snapshots: ns.snapshots, store, bus, tenant, lakeBytes: lakeBytes && (() => lakeBytes(tenant)) });
        if (this.deps.invalidations) service.publishDeletesTo(this.deps.invalidations);
        return { ns, service };
      })();
      // A namespace that failed to open is tried again on the next call, not cached broken.
      entry.catch(() => this.opened.delete(tenant));
      this.opened.set(tenant, entry);
    }
    return (await entry).service;
  }

  /** A task by id, whatever its tenant (lake-caller.ts checks its token first). */
  taskOf(id: string): Promise<Task | null> {
    return this.deps.store.get(id);
  }

  /** The tenants whose namespaces are open now (besides `default`). */
  openTenants(): string[] {
    return [...this.opened.keys()];
  }

  async close(): Promise<void> {
    const all = [...this.opened.values()];
    this.opened.clear();
    for (const settled of await Promise.allSettled(all)) {
      if (settled.status !== 'fulfilled') continue;
      settled.value.service.close();
      await settled.value.ns.close();
    }
  }
}
