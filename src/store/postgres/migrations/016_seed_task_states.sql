-- 016_seed_task_states: task statuses take seed 004's names (§3.2): `queued` is now `pending`
-- and `succeeded` is now `completed`; running, cancelling, failed and cancelled are unchanged
-- (the SQLite store's 020). The CHECK on tasks.status is replaced, the rows renamed, and the
-- partial indexes whose predicate named 'queued' (001's tasks_dispatch and tasks_queue_order,
-- 004's tasks_tenant_queued) are made again on 'pending', so the queries that now say
-- `status = 'pending'` still match them. Stored `state` events are rewritten too, so a log
-- read from seq 0 speaks one vocabulary, and so are the `status` of `completed` webhook
-- deliveries not yet sent.

ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
DROP INDEX tasks_dispatch;
DROP INDEX tasks_queue_order;
DROP INDEX tasks_tenant_queued;

UPDATE tasks SET status = CASE status WHEN 'queued' THEN 'pending' ELSE 'completed' END
WHERE status IN ('queued', 'succeeded');

ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
  CHECK (status IN ('pending', 'running', 'cancelling', 'completed', 'failed', 'cancelled'));

CREATE INDEX tasks_dispatch ON tasks (executor, tenant, priority DESC, created_at, id) WHERE status = 'pending';
CREATE INDEX tasks_queue_order ON tasks (executor, priority DESC, created_at, id) INCLUDE (not_before) WHERE status = 'pending';
CREATE INDEX tasks_tenant_queued ON tasks (tenant) WHERE status = 'pending';

-- The stores write a state event's JSON with `status` first ({"status":"queued",...}): rewrite
-- that prefix in place, keeping the rest of the text as it was; any other layout through jsonb.
UPDATE events SET data = '{"status":"pending"' || substr(data, length('{"status":"queued"') + 1)
WHERE type = 'state' AND data LIKE '{"status":"queued"%';
UPDATE events SET data = '{"status":"completed"' || substr(data, length('{"status":"succeeded"') + 1)
WHERE type = 'state' AND data LIKE '{"status":"succeeded"%';
UPDATE events
SET data = jsonb_set(data::jsonb, '{status}', to_jsonb(CASE data::jsonb ->> 'status' WHEN 'queued' THEN 'pending' ELSE 'completed' END))::text
WHERE type = 'state' AND data LIKE '%"status"%' AND data::jsonb ->> 'status' IN ('queued', 'succeeded');

UPDATE webhook_deliveries
SET data = jsonb_set(data::jsonb, '{status}', '"completed"')::text
WHERE event = 'completed' AND state = 'pending' AND data::jsonb ->> 'status' = 'succeeded';
