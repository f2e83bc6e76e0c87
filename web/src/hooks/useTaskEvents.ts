/**
 * All of one task's events, replayed from the start and then live, over the shared WebSocket;
 * sorted into what the detail page shows: log lines, metric series, artifacts, the service's
 * state and the timeline (everything else). Updates are batched per animation frame so a
 * chatty task (thousands of log lines) costs one render per frame, not one per line.
 */
import { useEffect, useRef, useState } from 'react';
import { live } from '../api/live.ts';
import type { Artifact, TaskEvent } from '../api/types.ts';

const MAX_LOG_LINES = 5000;
const MAX_TIMELINE = 500;

export interface LogEntry {
  seq: number;
  ts: number;
  stream: string;
  message: string;
}

export interface TaskFeed {
  logs: LogEntry[];
  /** Lines dropped from the front to keep the view bounded. */
  droppedLogs: number;
  metrics: Map<string, { x: number; y: number }[]>;
  artifacts: Artifact[];
  service: { state: string; port?: number; restarts?: number; url?: string } | null;
  timeline: TaskEvent[];
  counts: Record<string, number>;
  lastProgress: TaskEvent | null;
  lastSeq: number;
}

const empty = (): TaskFeed => ({
  logs: [],
  droppedLogs: 0,
  metrics: new Map(),
  artifacts: [],
  service: null,
  timeline: [],
  counts: {},
  lastProgress: null,
  lastSeq: 0,
});

function add(feed: TaskFeed, ev: TaskEvent): void {
  feed.counts[ev.type] = (feed.counts[ev.type] ?? 0) + 1;
  feed.lastSeq = Math.max(feed.lastSeq, ev.seq);
  const d = ev.data;
  switch (ev.type) {
    case 'log': {
      const stream = typeof d.stream === 'string' ? d.stream : typeof d.level === 'string' ? d.level : 'log';
      const message = typeof d.message === 'string' ? d.message : typeof d.line === 'string' ? d.line : JSON.stringify(d);
      feed.logs.push({ seq: ev.seq, ts: ev.ts, stream, message });
      if (feed.logs.length > MAX_LOG_LINES) {
        const drop = feed.logs.length - MAX_LOG_LINES;
        feed.logs.splice(0, drop);
        feed.droppedLogs += drop;
      }
      return;
    }
    case 'metric': {
      const name = String(d.name ?? 'value');
      const y = Number(d.value);
      if (!Number.isFinite(y)) return;
      let series = feed.metrics.get(name);
      if (!series) feed.metrics.set(name, (series = []));
      series.push({ x: typeof d.step === 'number' ? d.step : series.length, y });
      return;
    }
    case 'progress':
      feed.lastProgress = ev;
      return;
    case 'artifact':
      feed.artifacts.push({ name: String(d.name ?? d.path ?? 'artifact'), path: typeof d.path === 'string' ? d.path : undefined, content_type: typeof d.content_type === 'string' ? d.content_type : null });
      break;
    case 'service':
      feed.service = {
        state: String(d.state ?? 'unknown'),
        port: typeof d.port === 'number' ? d.port : undefined,
        restarts: typeof d.restarts === 'number' ? d.restarts : undefined,
        url: typeof d.url === 'string' ? d.url : undefined,
      };
      break;
  }
  feed.timeline.push(ev);
  if (feed.timeline.length > MAX_TIMELINE) feed.timeline.splice(0, feed.timeline.length - MAX_TIMELINE);
}

export function useTaskEvents(id: string, onState?: (ev: TaskEvent) => void): TaskFeed {
  const feed = useRef<TaskFeed>(empty());
  const [, setVersion] = useState(0);
  const onStateRef = useRef(onState);
  onStateRef.current = onState;

  useEffect(() => {
    feed.current = empty();
    setVersion((v) => v + 1);
    let frame: number | null = null;
    const flush = () => {
      frame = null;
      // A fresh object so memoized children see the change.
      feed.current = { ...feed.current, logs: feed.current.logs.slice(), timeline: feed.current.timeline.slice(), metrics: new Map(feed.current.metrics) };
      setVersion((v) => v + 1);
    };
    const off = live.subscribeTask(id, (ev) => {
      add(feed.current, ev);
      if (ev.type === 'state') onStateRef.current?.(ev);
      frame ??= requestAnimationFrame(flush);
    });
    return () => {
      off();
      if (frame !== null) cancelAnimationFrame(frame);
    };
  }, [id]);

  return feed.current;
}
