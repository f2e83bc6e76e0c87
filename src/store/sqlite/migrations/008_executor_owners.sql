-- 008_executor_owners: which scheduler process owns each executor, under which epoch (the
-- fencing token). One row per executor that was ever claimed; a release keeps the row (owner
-- NULL) so the next claim moves the epoch on and never reuses one.

CREATE TABLE executor_owners (
  executor   TEXT    NOT NULL PRIMARY KEY,
  owner      TEXT,
  epoch      INTEGER NOT NULL CHECK (epoch > 0),
  expires_at INTEGER NOT NULL
) STRICT;
