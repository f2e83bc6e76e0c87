-- 014_events_delete_trigger: events.task_id loses its foreign key; a statement-level trigger
-- on tasks deletes the events of deleted tasks instead (what ON DELETE CASCADE did).
-- The FK was checked for every event row inserted (a lookup and a KEY SHARE lock of the
-- tasks row per row: 0.77 ms of a 9.9 ms 200-event appendEvents, EXPLAIN ANALYZE), although
-- every insert path already holds the task's row: appendEvents inserts only for heads it
-- locked FOR UPDATE, transitions and inserts write the task row in the same statement or
-- transaction. A delete and an append exclude each other on that row lock (the append of a
-- deleted task finds no head and inserts nothing; a delete after an append commits sees, and
-- deletes, its rows: the trigger's DELETE reads the committed events, READ COMMITTED).

ALTER TABLE events DROP CONSTRAINT events_task_id_fkey;

CREATE FUNCTION lakeray_delete_task_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM events e USING gone g WHERE e.task_id = g.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER tasks_delete_events AFTER DELETE ON tasks
  REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION lakeray_delete_task_events();
