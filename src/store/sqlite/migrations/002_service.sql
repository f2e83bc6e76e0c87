-- 002_service: service tasks (long-running HTTP servers supervised by the executor).
-- JSON ServiceSpec ({health_path, restart, max_restarts, startup_timeout_s}); NULL for a
-- normal task. Part of the task's fixed (never-updated) columns.

ALTER TABLE tasks ADD COLUMN service TEXT;
