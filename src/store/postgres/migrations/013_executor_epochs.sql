-- 013_executor_epochs: the highest epoch of every executor whose owners row was pruned (a dead
-- node's `local@<node>`, TaskStore.pruneExecutors; the SQLite store's 019). A claim that
-- re-creates the row starts above it, so an epoch is never issued twice for one executor name
-- and a deposed owner's fence can never become current again.

CREATE TABLE executor_epochs (
  executor TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  epoch    INTEGER NOT NULL CHECK (epoch > 0)
);
