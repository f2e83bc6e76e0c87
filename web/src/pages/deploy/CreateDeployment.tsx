/** The form that deploys a lake model: which model, a name, and the batching settings. */
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client.ts';
import { serving } from '../../api/serving.ts';
import { Icon } from '../../components/Icon.tsx';
import { Card } from '../../components/Page.tsx';
import { useResource } from '../../hooks/useResource.ts';
import { navigate } from '../../router.tsx';
import { errorText } from './common.tsx';
import { SettingsFields, type SettingsForm, toPatch } from './SettingsFields.tsx';

const DEFAULTS: SettingsForm = { max_batch_size: '32', batch_timeout_ms: '5', enable_dynamic_batching: true, load_balance_strategy: 'least_loaded', min: '1', max: '1' };

/** A deployment name the API takes, from a model name (mnist_cnn_v1 → mnist-cnn-v1). */
const nameFor = (model: string): string => model.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);

export function CreateDeployment({ onCreated }: { onCreated: () => void }) {
  const models = useResource((signal) => api.models(signal), 'models');
  const [model, setModel] = useState('');
  const [name, setName] = useState('');
  const [settings, setSettings] = useState(DEFAULTS);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const chosen = model || models.data?.[0]?.id || '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen) return;
    setBusy(true);
    setError(null);
    const deploymentName = name.trim() || nameFor(chosen);
    try {
      await serving.create({ name: deploymentName, model: chosen, ...toPatch(settings) });
      onCreated();
      navigate(`/deployments/${encodeURIComponent(deploymentName)}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Deploy a model" hint="An ONNX model of the lake gets replicas, a dynamic batcher and a predict endpoint.">
      <form className="stack-sm" onSubmit={(e) => void submit(e)} aria-label="Deploy a model" data-testid="create-deployment">
        <div className="form-grid">
          <div className="field">
            <label htmlFor="create-model">Model</label>
            <select id="create-model" name="model" className="select" value={chosen} onChange={(e) => setModel(e.target.value)} disabled={!models.data?.length}>
              {!models.data?.length && <option value="">{models.data ? 'no models in the lake' : 'loading…'}</option>}
              {models.data?.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id} (v{m.version})
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="create-name">Name</label>
            <input id="create-name" name="name" className="input" value={name} placeholder={chosen ? nameFor(chosen) : 'mnist'} onChange={(e) => setName(e.target.value)} maxLength={63} />
          </div>
        </div>
        <SettingsFields form={settings} onChange={setSettings} idPrefix="create" />
        {error && (
          <div className="field-error" role="alert" data-testid="create-error">
            {error}
          </div>
        )}
        <div className="row">
          <button type="submit" className="btn btn-primary" disabled={busy || !chosen}>
            <Icon name="play" /> {busy ? 'Deploying…' : 'Deploy'}
          </button>
        </div>
      </form>
    </Card>
  );
}
