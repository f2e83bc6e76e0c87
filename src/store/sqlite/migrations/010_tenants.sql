-- 010_tenants: per-tenant settings an admin overrode at run time (src/tenants/), and GPU-seconds
-- used per tenant per UTC day (quota `gpu_seconds_per_day`). `settings` is JSON holding only the
-- fields the admin set. Usage rows are added to (never replaced), one row per tenant and day.
-- tasks_tenant_active counts a tenant's queued and running tasks (max_queued at submit,
-- max_running at dispatch) without walking other tenants' tasks.

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

CREATE INDEX tasks_tenant_active ON tasks (tenant, status) WHERE status IN ('queued', 'running', 'cancelling');
