/**
 * Tasks: a live table of the tenant's tasks. The list comes from GET /api/v1/tasks (filters in
 * the URL); the WebSocket's tenant-wide feed then patches progress in place and, on a state
 * change or a task not on screen yet, refetches the page (debounced), which also brings fresh
 * queue positions.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api/client.ts';
import { live } from '../api/live.ts';
import { isActive, type Task, type TaskEvent, type TaskList, TASK_STATUSES } from '../api/types.ts';
import { Icon } from '../components/Icon.tsx';
import { Card, Page } from '../components/Page.tsx';
import { ProgressBar, StatusBadge } from '../components/Status.tsx';
import { EmptyState, ErrorState, SkeletonRows } from '../components/States.tsx';
import { ExecutorsDown } from '../components/ExecutorsDown.tsx';
import { useExecutors } from '../hooks/useExecutors.ts';
import { useNow } from '../hooks/useNow.ts';
import { useResource } from '../hooks/useResource.ts';
import { ago, between, dateTime, duration } from '../lib/format.ts';
import { Link, setQuery, useLocation } from '../router.tsx';

const PAGE = 50;
const REFETCH_MS = 300;

/** One live event applied to the list on screen (progress and status of a listed task). */
function applyEvent(list: TaskList, ev: TaskEvent): TaskList {
  const i = list.tasks.findIndex((t) => t.id === ev.task_id);
  if (i < 0) return list;
  const task = list.tasks[i]!;
  if (ev.seq <= task.last_seq) return list;
  let next: Task = { ...task, last_seq: ev.seq };
  if (ev.type === 'progress' && typeof ev.data.fraction === 'number') {
    next = {
      ...next,
      progress: {
        fraction: ev.data.fraction,
        message: typeof ev.data.message === 'string' ? ev.data.message : null,
        step: typeof ev.data.step === 'number' ? ev.data.step : undefined,
        total: typeof ev.data.total === 'number' ? ev.data.total : undefined,
        eta_s: typeof ev.data.eta_s === 'number' ? ev.data.eta_s : null,
      },
    };
  } else if (ev.type === 'state' && typeof ev.data.status === 'string' && (TASK_STATUSES as readonly string[]).includes(ev.data.status)) {
    next = { ...next, status: ev.data.status as Task['status'] };
  }
  const tasks = list.tasks.slice();
  tasks[i] = next;
  return { ...list, tasks };
}

export function TasksPage() {
  const { search } = useLocation();
  const status = search.get('status') ?? '';
  const name = search.get('name') ?? '';
  const [nameInput, setNameInput] = useState(name);
  const [limit, setLimit] = useState(PAGE);
  const [cancelling, setCancelling] = useState<Set<string>>(new Set());
  const [actionError, setActionError] = useState<string | null>(null);
  const now = useNow(1000);
  const executors = useExecutors();

  const statusParam = status === 'active' ? 'pending,running,cancelling' : status;
  const nameParam = name ? (name.endsWith('*') ? name : `${name}*`) : undefined;
  const list = useResource((signal) => api.tasks({ status: statusParam || undefined, name: nameParam, limit }, signal), `${statusParam}|${nameParam}|${limit}`);

  // Typing filters by name after a short pause (the URL keeps the filter).
  useEffect(() => {
    if (nameInput === name) return;
    const t = setTimeout(() => setQuery({ name: nameInput.trim() || null }), 300);
    return () => clearTimeout(t);
  }, [nameInput, name]);

  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const { reload, set } = list;
  const scheduleRefetch = useCallback(() => {
    if (refetchTimer.current) return;
    refetchTimer.current = setTimeout(() => {
      refetchTimer.current = null;
      reload();
    }, REFETCH_MS);
  }, [reload]);

  useEffect(() => {
    const off = live.subscribeAll((ev) => {
      set((prev) => prev && applyEvent(prev, ev));
      // A state change moves tasks between filters and queue positions: refetch the page.
      // A task not on screen yet announces itself with its first state event.
      if (ev.type === 'state') scheduleRefetch();
    });
    return () => {
      off();
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
      refetchTimer.current = null;
    };
  }, [set, scheduleRefetch]);

  const cancel = async (task: Task) => {
    setActionError(null);
    setCancelling((s) => new Set(s).add(task.id));
    try {
      const updated = await api.cancelTask(task.id);
      set((prev) => prev && { ...prev, tasks: prev.tasks.map((t) => (t.id === task.id ? updated : t)) });
    } catch (err) {
      setActionError(`Could not cancel ${task.name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setCancelling((s) => {
        const n = new Set(s);
        n.delete(task.id);
        return n;
      });
      scheduleRefetch();
    }
  };

  const filtered = Boolean(status || name);
  const tasks = list.data?.tasks ?? [];

  return (
    <Page title="Tasks" subtitle="Everything running on the platform, live: queue, progress, results.">
      <ExecutorsDown executors={executors} />
      <Card
        title={list.data ? `${tasks.length}${list.data.next_cursor ? '+' : ''} ${tasks.length === 1 ? 'task' : 'tasks'}` : 'Tasks'}
        actions={
          <form className="toolbar" role="search" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
            <div className="field">
              <label htmlFor="filter-status" className="visually-hidden">
                Status
              </label>
              <select id="filter-status" className="select select-sm" value={status} onChange={(e) => setQuery({ status: e.target.value || null })}>
                <option value="">All statuses</option>
                <option value="active">Active</option>
                {TASK_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s[0]!.toUpperCase() + s.slice(1)}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="filter-name" className="visually-hidden">
                Name starts with
              </label>
              <input id="filter-name" className="input input-sm" type="search" placeholder="Filter by name…" value={nameInput} onChange={(e) => setNameInput(e.target.value)} />
            </div>
          </form>
        }
        bodyless
      >
        {actionError && (
          <div className="card-body" role="alert" style={{ color: 'var(--c-danger)', paddingBottom: 0 }}>
            {actionError}
          </div>
        )}
        {list.error !== undefined && !list.data ? (
          <ErrorState error={list.error} onRetry={list.reload} what="the tasks" />
        ) : !list.data ? (
          <SkeletonRows rows={6} columns={6} />
        ) : tasks.length === 0 ? (
          filtered ? (
            <EmptyState icon="search" title="No tasks match these filters" action={<button type="button" className="btn" onClick={() => { setNameInput(''); setQuery({ status: null, name: null }); }}>Clear filters</button>} />
          ) : (
            <EmptyState icon="list" title="No tasks yet">
              <p>Submit one from the command line, or generate a video and it shows up here, live.</p>
              <code className="cmd">npx lakeray submit hello/hello.py --watch</code>
            </EmptyState>
          )
        ) : (
          <div className="table-wrap">
            <table className="table table-cards" aria-describedby="tasks-live-note">
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">Status</th>
                  <th scope="col" style={{ width: '22%' }}>
                    Progress
                  </th>
                  <th scope="col">Executor</th>
                  <th scope="col">Queue</th>
                  <th scope="col">Created</th>
                  <th scope="col">Duration</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tasks.map((t) => (
                  <TaskRow key={t.id} task={t} now={now} cancelling={cancelling.has(t.id)} onCancel={() => void cancel(t)} />
                ))}
              </tbody>
            </table>
            <p id="tasks-live-note" className="visually-hidden">
              This table updates live.
            </p>
          </div>
        )}
        {list.data?.next_cursor && (
          <div className="pager">
            <span>Showing the newest {tasks.length}</span>
            <button type="button" className="btn btn-sm" onClick={() => setLimit((l) => Math.min(1000, l + PAGE))} disabled={limit >= 1000}>
              Load more
            </button>
          </div>
        )}
      </Card>
    </Page>
  );
}

function TaskRow({ task: t, now, cancelling, onCancel }: { task: Task; now: number; cancelling: boolean; onCancel: () => void }) {
  const f = t.progress?.fraction ?? null;
  const progress =
    t.status === 'pending' ? (
      <span className="muted small">Waiting</span>
    ) : t.status === 'completed' ? (
      <ProgressBar fraction={1} tone="success" name={`${t.name} progress`} />
    ) : t.status === 'running' || t.status === 'cancelling' ? (
      <ProgressBar fraction={f} name={`${t.name} progress`} />
    ) : f !== null ? (
      <ProgressBar fraction={f} tone={t.status === 'failed' ? 'danger' : 'neutral'} name={`${t.name} progress`} />
    ) : (
      <span className="muted small">—</span>
    );
  return (
    <tr data-task-id={t.id} data-status={t.status}>
      <td className="cell-primary">
        <Link to={`/tasks/${encodeURIComponent(t.id)}`} className="cell-main">
          {t.name}
        </Link>
        <div className="cell-sub truncate" title={t.script}>
          {t.id} · {t.script}
        </div>
      </td>
      <td data-label="Status">
        <StatusBadge status={t.status} />
      </td>
      <td data-label="Progress" title={t.progress?.message ?? undefined}>
        {progress}
      </td>
      <td data-label="Executor" data-testid="task-executor">
        <span className="tag">{t.executor}</span>
      </td>
      <td data-label="Queue" className="num">
        {t.queue_position !== null ? (
          <span title={`${t.queue_position} ${t.queue_position === 1 ? 'task' : 'tasks'} ahead`}>#{t.queue_position + 1}</span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td data-label="Created" className="nowrap" title={dateTime(t.created_at)}>
        {ago(t.created_at, now)}
      </td>
      <td data-label="Duration" className="num nowrap">
        {t.started_at ? duration(between(t.started_at, t.finished_at, now)) : <span className="muted">—</span>}
      </td>
      <td className="actions">
        {isActive(t.status) && (
          <button type="button" className="btn btn-danger btn-sm" onClick={onCancel} disabled={cancelling || t.status === 'cancelling'} aria-label={`Cancel ${t.name}`}>
            <Icon name="stop" /> {t.status === 'cancelling' || cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </td>
    </tr>
  );
}
