/** A task's log lines, live, following the newest unless the reader scrolls up. */
import { useEffect, useRef, useState } from 'react';
import { api } from '../../api/client.ts';
import { Icon } from '../../components/Icon.tsx';
import { Card } from '../../components/Page.tsx';
import type { LogEntry } from '../../hooks/useTaskEvents.ts';
import { plural, time } from '../../lib/format.ts';

export function LogsCard({ taskId, logs, dropped, active }: { taskId: string; logs: LogEntry[]; dropped: number; active: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  // Where following last scrolled to: only a scroll above it is the reader's own (a scroll
  // event of ours may arrive after more lines came in, below it).
  const autoTop = useRef(0);
  useEffect(() => {
    const el = box.current;
    if (!el || !follow) return;
    el.scrollTop = el.scrollHeight;
    autoTop.current = el.scrollTop;
  }, [logs, follow]);
  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    if (follow && el.scrollTop < autoTop.current - 16) setFollow(false);
    else if (!follow && el.scrollHeight - el.scrollTop - el.clientHeight < 8) setFollow(true);
  };
  return (
    <Card
      title="Logs"
      hint={`${plural(logs.length + dropped, 'line')}${active ? ' · live' : ''}`}
      actions={
        <>
          <label className="row small" style={{ gap: 'var(--s-1)' }}>
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
          </label>
          <a className="btn btn-sm" href={api.logsUrl(taskId)} target="_blank" rel="noreferrer">
            <Icon name="download" /> Raw
          </a>
        </>
      }
      bodyless
    >
      <div ref={box} className="logs" style={logs.length < 16 ? { height: 'auto', minHeight: 64 } : undefined} role="log" aria-live="off" aria-label="Task logs" tabIndex={0} onScroll={onScroll}>
        {dropped > 0 && <div className="logs-empty">… {plural(dropped, 'earlier line')} not shown (see Raw)</div>}
        {logs.length === 0 ? (
          <div className="logs-empty">{active ? 'Waiting for output…' : 'No output.'}</div>
        ) : (
          logs.map((l) => (
            <div key={l.seq} className="log-line" data-stream={l.stream}>
              <span className="ts">{time(l.ts)}</span>
              <span className="stream">{l.stream}</span>
              <span>{l.message}</span>
            </div>
          ))
        )}
      </div>
    </Card>
  );
}
