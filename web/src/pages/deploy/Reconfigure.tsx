/** Live reconfiguration: PATCH the batching settings, strategy and replica counts; a refusal is shown inline. */
import { type FormEvent, useState } from 'react';
import { type Deployment, serving } from '../../api/serving.ts';
import { Icon } from '../../components/Icon.tsx';
import { errorText } from './common.tsx';
import { formOf, SettingsFields, toPatch } from './SettingsFields.tsx';

export function Reconfigure({ deployment, onSaved }: { deployment: Deployment; onSaved: (d: Deployment) => void }) {
  const [form, setForm] = useState(() => formOf(deployment, deployment.replicas));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    try {
      const saved = await serving.patch(deployment.name, toPatch(form));
      onSaved(saved);
      setForm(formOf(saved, saved.replicas));
      setResult({ ok: true, text: 'Saved: the next batch uses the new settings.' });
    } catch (err) {
      setResult({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="stack-sm" onSubmit={(e) => void submit(e)} aria-label="Reconfigure" data-testid="reconfigure">
      <SettingsFields form={form} onChange={setForm} idPrefix="patch" />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          <Icon name="refresh" /> {busy ? 'Applying…' : 'Apply'}
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => setForm(formOf(deployment, deployment.replicas))}>
          Reset
        </button>
      </div>
      <div role="status" data-testid="reconfigure-result" data-ok={result?.ok} className={result && !result.ok ? 'field-error' : 'muted small'} style={{ minHeight: '1.5em' }}>
        {result?.text}
      </div>
    </form>
  );
}
