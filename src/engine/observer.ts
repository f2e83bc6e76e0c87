/** Hooks the engine calls for metrics; the API's prom-client registry implements them. */
export interface EngineObserver {
  dispatched(executor: string, latencySeconds: number): void;
  finished(executor: string, status: string, durationSeconds: number): void;
  events(count: number): void;
}

export const NO_OBSERVER: EngineObserver = { dispatched() {}, finished() {}, events() {} };
