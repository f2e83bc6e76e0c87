-- 005_queue_order_covering: tasks_queue_order also carries tenant and not_before, so a walk
-- of the ready queue in dispatch order (the dispatcher's candidates, the greedy per-tenant
-- walk, queue positions) reads the index alone: no table row per entry to learn whether a
-- task is ready yet or whose it is. Rows are read only for candidates the store does not
-- already know.
DROP INDEX tasks_queue_order;
CREATE INDEX tasks_queue_order ON tasks (executor, priority DESC, created_at, id, tenant, not_before) WHERE status = 'queued';
