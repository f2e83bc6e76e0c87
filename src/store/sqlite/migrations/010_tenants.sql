-- 010_tenants: per-tenant settings an admin overrode at run time (src/tenants/), and GPU-seconds
-- used per tenant per UTC day (quota `gpu_seconds_per_day`). `settings` is JSON holding only the
-- fields the admin set. Usage rows are added to (never replaced), one row per tenant and day.
-- tasks_tenant_queued counts a tenant's queued tasks (max_queued at submit) without walking
-- other tenants': an entry is added at submit and removed at the claim (queued only, like
-- 006's indexes, so a task costs two entries, not a move at each transition). Running tasks
-- are counted through tasks_leased (at most what runs).

CREATE TABLE tenant_settings (
  tenant     TEXT PRIMARY KEY,
  settings   TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE tenant_gpu_usage (
  tenant      TEXT NOT NULL,
  day         TEXT NOT NULL,
  gpu_seconds REAL NOT NULL,
  PRIMARY KEY (day, tenant)
);

CREATE INDEX tasks_tenant_queued ON tasks (tenant) WHERE status = 'queued';
