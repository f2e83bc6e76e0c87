-- 015_tasks_fillfactor: leave 30 % of each tasks page free, so that the updates that touch no
-- indexed column stay HOT (a new row version on the same page, no new index entries): every
-- event flush moves its tasks' last_seq and progress (appendEvents), lease renewals move
-- lease_expires_at. On full pages (the default fillfactor 100; a batch submit packs its tasks
-- into the same pages, and then they all run and report at once) such an update moves the row
-- to another page and inserts into every index on tasks.
-- Measured: 400 running tasks inserted as one batch, 20 appends of a quarter of them each:
-- 113 of 400 rows left their page with fillfactor 100, none with 70
-- (test/integration/store/postgres-events.test.ts). Micro, 200 running tasks among 2,000
-- others, 300 appends of 200 events, load 12-14: HOT updates 88 % -> 99 %, table 2.7 -> 1.0 MB,
-- append p90 19.5-20.0 -> 14.0-14.6 ms. A statement that updates every row of a page needs
-- about half of it free (70 keeps about a third of a page's rows in place per statement).
-- Pages written before this migration keep their packing until rewritten; status changes are
-- never HOT (status is in partial indexes' predicates).

ALTER TABLE tasks SET (fillfactor = 70);
