-- 003_api_keys_audit: API keys (src/auth/api-key.ts; only SHA-256 of the secret is kept) and
-- the audit log of admin actions (src/auth/audit.ts); the SQLite store's 009. Times are epoch ms.

CREATE TABLE api_keys (
  id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  tenant       TEXT COLLATE "C" NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
  hash         TEXT NOT NULL,
  name         TEXT,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);

CREATE TABLE audit_log (
  id     BIGSERIAL PRIMARY KEY,
  tenant TEXT COLLATE "C" NOT NULL,
  ts     BIGINT NOT NULL,
  key_id TEXT,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_log_tenant ON audit_log (tenant, id);
