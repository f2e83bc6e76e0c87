/**
 * Follows one video generation until it finishes, from three sources at once:
 *  - WebSocket task events (progress per frame, state changes) — instant;
 *  - WebSocket `queue` pushes — the live queue position while it waits;
 *  - polling GET /v1/video/generations/{id} every second — the authoritative record (result
 *    URLs, errors, ETA), and the fallback when the socket is down.
 * Progress never moves backwards while running, whichever source is late.
 */
import { useEffect, useState } from 'react';
import { ApiError, api, isAbort } from '../api/client.ts';
import { live } from '../api/live.ts';
import { type Generation, type GenerationStatus, isFinished } from '../api/types.ts';

const POLL_MS = 1000;

export interface GenerationView {
  gen: Generation | null;
  /** The latest progress message (e.g. "frame 12/48"). */
  message: string | null;
  /** When the generation was seen running first (ms), for an ETA estimate. */
  runningSince: number | null;
  error: unknown;
}

const STATE_MAP: Record<string, GenerationStatus> = {
  pending: 'QUEUED',
  running: 'RUNNING',
  cancelling: 'RUNNING',
  completed: 'SUCCEEDED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
};

function merge(prev: Generation | null, next: Generation): Generation {
  if (!prev || prev.task_id !== next.task_id) return next;
  // A poll answered before a newer socket event must not pull the bar back.
  const progress = next.status === 'RUNNING' && prev.status === 'RUNNING' ? Math.max(prev.progress, next.progress) : next.progress;
  return { ...next, progress };
}

export function useGeneration(id: string | null, initial: Generation | null): GenerationView {
  const [view, setView] = useState<GenerationView>({ gen: initial, message: null, runningSince: null, error: undefined });

  useEffect(() => {
    setView({ gen: initial && initial.task_id === id ? initial : null, message: null, runningSince: null, error: undefined });
    if (!id) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let controller: AbortController | null = null;
    let finished = false;

    const poll = async () => {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      timer = null;
      controller?.abort();
      controller = new AbortController();
      try {
        const g = await api.generation(id, controller.signal);
        if (stopped) return;
        finished = isFinished(g.status);
        setView((v) => ({
          ...v,
          gen: merge(v.gen, g),
          error: undefined,
          runningSince: v.runningSince ?? (g.status === 'RUNNING' ? (g.started_at ? Date.parse(g.started_at) : Date.now()) : null),
        }));
      } catch (err) {
        if (stopped || isAbort(err)) return;
        setView((v) => ({ ...v, error: err }));
        if (err instanceof ApiError && err.notFound) finished = true;
      }
      if (!finished && !stopped) timer = setTimeout(() => void poll(), POLL_MS);
    };

    const unsubscribe = live.subscribeTask(id, (event) => {
      if (event.type === 'progress') {
        const fraction = Number(event.data.fraction);
        const eta = event.data.eta_s;
        setView((v) => {
          if (!v.gen || isFinished(v.gen.status)) return v;
          const pct = Number.isFinite(fraction) ? Math.min(100, fraction * 100) : v.gen.progress;
          return {
            ...v,
            message: typeof event.data.message === 'string' ? event.data.message : v.message,
            runningSince: v.runningSince ?? event.ts,
            gen: {
              ...v.gen,
              status: 'RUNNING',
              queue_position: null,
              progress: Math.max(v.gen.status === 'RUNNING' ? v.gen.progress : 0, pct),
              eta_seconds: typeof eta === 'number' ? eta : v.gen.eta_seconds,
            },
          };
        });
      } else if (event.type === 'state') {
        const status = STATE_MAP[String(event.data.status)];
        if (!status) return;
        setView((v) => {
          if (!v.gen || isFinished(v.gen.status)) return v;
          return {
            ...v,
            runningSince: status === 'RUNNING' ? (v.runningSince ?? event.ts) : v.runningSince,
            gen: { ...v.gen, status: isFinished(status) ? v.gen.status : status, queue_position: status === 'QUEUED' ? v.gen.queue_position : null },
          };
        });
        // The result (video URL) and the error details come with the record: fetch it now.
        if (status !== 'QUEUED') void poll();
      }
    });
    const offQueue = live.onQueue(id, (position) =>
      setView((v) => (v.gen && v.gen.status === 'QUEUED' ? { ...v, gen: { ...v.gen, queue_position: position } } : v)),
    );

    finished = initial?.task_id === id && isFinished(initial.status);
    void poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      controller?.abort();
      unsubscribe();
      offQueue();
    };
    // `initial` seeds the view only when the id changes.
  }, [id]);

  return view;
}
