-- 004_tenants: per-tenant settings overrides and GPU-seconds per UTC day (the SQLite store's 010).

CREATE TABLE tenant_settings (
  tenant     TEXT COLLATE "C" PRIMARY KEY,
  settings   TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE tenant_gpu_usage (
  tenant      TEXT COLLATE "C" NOT NULL,
  day         TEXT COLLATE "C" NOT NULL,
  gpu_seconds DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (day, tenant)
);

CREATE INDEX tasks_tenant_queued ON tasks (tenant) WHERE status = 'queued';
