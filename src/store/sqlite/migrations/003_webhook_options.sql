-- 003_webhook_options: per-task webhook options (JSON WebhookOptions: {events, secret});
-- NULL when the task has no webhook or uses the defaults (every event, the configured
-- secret). Part of the task's fixed (never-updated) columns.

ALTER TABLE tasks ADD COLUMN webhook_options TEXT;
