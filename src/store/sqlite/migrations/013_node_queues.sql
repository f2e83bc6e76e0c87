-- 013_node_queues: a node-scoped executor (`local@<node>`) takes queued tasks from its shared
-- queue (`local`) just before it claims them; home_executor remembers where a task was taken
-- from, so that what a dead or stopped node had taken but not run goes back there
-- (store/task-store.ts, takeQueued and returnQueued). NULL: submitted to its executor itself.

ALTER TABLE tasks ADD COLUMN home_executor TEXT;
