-- 004_active_index: one partial index over active tasks replaces two.
-- tasks_executor_status held every task, so a task's end moved its entry to a terminal status;
-- tasks_leases held running ones. A claim updated both, an end three entries. Only active
-- tasks are ever looked up by status (counts() reports queued, running and cancelling; stale
-- leases are found among running and cancelling), so one index over them serves both, and a
-- task that ends leaves it.
DROP INDEX tasks_executor_status;
DROP INDEX tasks_leases;
CREATE INDEX tasks_active ON tasks (status, executor) WHERE status IN ('queued', 'running', 'cancelling');
