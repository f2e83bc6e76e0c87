/**
 * Opens a tenant's lake namespace (lake/service/tenant-lakes.ts) as the config says: its tables and lineage
 * log under `<lake.root>/tenants/<tenant>`, its snapshot files under
 * `<state_dir>/lake-snapshots/tenants/<tenant>` with the same byte budget as the default's.
 */
import { join } from 'node:path';
import type { Config } from '../../config/schema.ts';
import type { Namespace } from '../service/tenant-lakes.ts';
import { SnapshotCache } from '../snapshot-cache.ts';
import { LanceLake } from './lance-lake.ts';
import { LanceLineageLog } from './lineage-log.ts';
import { tenantRoot } from './location.ts';

export async function openTenantLake(config: Readonly<Config>, tenant: string): Promise<Namespace> {
  const root = tenantRoot(config.lake.root, tenant);
  const lake = await LanceLake.open(root, { storageOptions: config.lake.storage_options, dataStorageVersion: config.lake.data_storage_version });
  const lineage = await LanceLineageLog.open(root, config.lake.storage_options);
  const bytes = config.lake.snapshot_cache_bytes;
  const snapshots = bytes > 0 ? new SnapshotCache(lake, join(config.state_dir, 'lake-snapshots', 'tenants', tenant), bytes) : undefined;
  return {
    lake,
    lineage,
    snapshots,
    close: async () => {
      await lineage.close();
      await lake.close();
    },
  };
}
