-- 016_webhook_completed_once: a task has at most one `completed` webhook delivery, so the sweep
-- for completions whose delivery was never written (src/webhooks/missed-completions.ts) and the
-- notifier can both write it; and the sweep finds tasks with a webhook by when they finished.

DELETE FROM webhook_deliveries
WHERE event = 'completed'
  AND seq NOT IN (SELECT MIN(seq) FROM webhook_deliveries WHERE event = 'completed' GROUP BY task_id);

CREATE UNIQUE INDEX webhook_deliveries_completed ON webhook_deliveries (task_id) WHERE event = 'completed';

CREATE INDEX tasks_webhook_finished ON tasks (finished_at, id) WHERE webhook IS NOT NULL AND finished_at IS NOT NULL;
