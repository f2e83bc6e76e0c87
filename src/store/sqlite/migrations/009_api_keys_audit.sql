-- 009_api_keys_audit: API keys (src/auth/api-key.ts; only SHA-256 of the secret is kept) and
-- the audit log of admin actions (src/auth/audit.ts). Times are epoch milliseconds.

CREATE TABLE api_keys (
  id           TEXT    NOT NULL PRIMARY KEY,
  tenant       TEXT    NOT NULL,
  role         TEXT    NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
  hash         TEXT    NOT NULL,
  name         TEXT,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  last_used_at INTEGER
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);

CREATE TABLE audit_log (
  id     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  tenant TEXT    NOT NULL,
  ts     INTEGER NOT NULL,
  key_id TEXT,
  action TEXT    NOT NULL,
  target TEXT    NOT NULL,
  detail TEXT
) STRICT;
CREATE INDEX audit_log_tenant ON audit_log (tenant, id);
