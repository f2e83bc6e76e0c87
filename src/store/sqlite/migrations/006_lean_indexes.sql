-- 006_lean_indexes: two index entries fewer per task.
-- tasks_created served list() without a tenant, which the API never asks for (every caller has
-- a tenant, and tasks_tenant_created serves those lists); the one internal caller lists active
-- tasks, which the index below finds. Every insert paid for it.
-- tasks_active held queued tasks too, so a submit added an entry and a claim moved it. Queued
-- tasks are already in tasks_queue_order, which counts them per executor as well; the index of
-- active tasks now holds only those with a lease (running, cancelling): an entry is added at
-- the claim and removed at the end.
DROP INDEX tasks_created;
DROP INDEX tasks_active;
CREATE INDEX tasks_leased ON tasks (status, executor) WHERE status IN ('running', 'cancelling');
