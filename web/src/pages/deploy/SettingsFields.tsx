/**
 * The live settings of a deployment as form fields, shared by the create and the reconfigure
 * forms. Numbers stay strings while typed; `toPatch` turns them into the API's body (an empty
 * field is left out, so the server's default or current value holds).
 */
import type { DeploymentPatch, DeploymentSettings } from '../../api/serving.ts';

export const STRATEGIES = ['least_loaded', 'round_robin', 'gpu_memory'] as const;

export interface SettingsForm {
  max_batch_size: string;
  batch_timeout_ms: string;
  enable_dynamic_batching: boolean;
  load_balance_strategy: string;
  min: string;
  max: string;
}

export const formOf = (s: DeploymentSettings, replicas: { min: number; max: number }): SettingsForm => ({
  max_batch_size: String(s.max_batch_size),
  batch_timeout_ms: String(s.batch_timeout_ms),
  enable_dynamic_batching: s.enable_dynamic_batching,
  load_balance_strategy: s.load_balance_strategy,
  min: String(replicas.min),
  max: String(replicas.max),
});

const num = (v: string): number | undefined => (v.trim() === '' ? undefined : Number(v));

export function toPatch(f: SettingsForm): DeploymentPatch {
  const replicas = { min: num(f.min), max: num(f.max) };
  return {
    max_batch_size: num(f.max_batch_size),
    batch_timeout_ms: num(f.batch_timeout_ms),
    enable_dynamic_batching: f.enable_dynamic_batching,
    load_balance_strategy: f.load_balance_strategy,
    ...(replicas.min !== undefined || replicas.max !== undefined ? { replicas } : {}),
  };
}

export function SettingsFields({ form, onChange, idPrefix }: { form: SettingsForm; onChange: (f: SettingsForm) => void; idPrefix: string }) {
  const field = (key: 'max_batch_size' | 'batch_timeout_ms' | 'min' | 'max', label: string, help: string, min: number) => (
    <div className="field">
      <label htmlFor={`${idPrefix}-${key}`}>{label}</label>
      <input
        id={`${idPrefix}-${key}`}
        name={key}
        className="input"
        type="number"
        inputMode="decimal"
        min={min}
        step="any"
        value={form[key]}
        onChange={(e) => onChange({ ...form, [key]: e.target.value })}
      />
      <span className="field-help">{help}</span>
    </div>
  );
  return (
    <div className="form-grid">
      {field('max_batch_size', 'Max batch size', 'Rows per model call', 1)}
      {field('batch_timeout_ms', 'Batch timeout (ms)', 'Longest wait for a fuller batch', 0)}
      {field('min', 'Replicas min', '0 scales to zero when idle', 0)}
      {field('max', 'Replicas max', 'Upper bound under load', 1)}
      <div className="field">
        <label htmlFor={`${idPrefix}-strategy`}>Load balancing</label>
        <select id={`${idPrefix}-strategy`} name="load_balance_strategy" className="select" value={form.load_balance_strategy} onChange={(e) => onChange({ ...form, load_balance_strategy: e.target.value })}>
          {STRATEGIES.map((s) => (
            <option key={s} value={s}>
              {s.replace(/_/g, ' ')}
            </option>
          ))}
        </select>
      </div>
      <label className="field check-field" htmlFor={`${idPrefix}-dynamic`}>
        <span className="field-label">Dynamic batching</span>
        <span className="row">
          <input id={`${idPrefix}-dynamic`} name="enable_dynamic_batching" type="checkbox" checked={form.enable_dynamic_batching} onChange={(e) => onChange({ ...form, enable_dynamic_batching: e.target.checked })} />
          <span className="small">{form.enable_dynamic_batching ? 'on' : 'off (one request per call)'}</span>
        </span>
      </label>
    </div>
  );
}
