/**
 * Try a deployment: paste a JSON body (`{"inputs": …}`, or `{"image": [784 numbers]}` for an
 * image model), or upload a file of numbers (JSON, or whitespace/comma separated: sent as one
 * row of the model's one input, or as an image when there are 784 of them), and see the answer.
 */
import { type ChangeEvent, type FormEvent, useState } from 'react';
import { type Deployment, serving, takesImage } from '../../api/serving.ts';
import { Icon } from '../../components/Icon.tsx';
import { JsonView } from '../../components/JsonView.tsx';
import { errorText } from './common.tsx';

/** An example body that fits the signature: zeros of the first input's shape (symbolic dims 1). */
export function exampleBody(d: Deployment): string {
  if (takesImage(d)) return JSON.stringify({ image: Array.from({ length: 784 }, () => 0) });
  const input = d.signature?.inputs.find((i) => !(d.state ?? []).some((s) => s.input === i.name));
  if (!input) return '{"inputs": []}';
  const dims = input.shape.map((v) => (typeof v === 'number' && v > 0 ? v : 1));
  const fill = (level: number): unknown => (level === dims.length ? 0 : Array.from({ length: dims[level]! }, () => fill(level + 1)));
  return JSON.stringify({ inputs: { [input.name]: fill(0) } });
}

/** Numbers out of a text file: a JSON array (any nesting) or numbers separated by spaces, commas or lines. */
export function numbersOf(text: string): number[] {
  try {
    const parsed: unknown = JSON.parse(text);
    const flat = [parsed].flat(Infinity as 1);
    if (flat.every((v) => typeof v === 'number')) return flat as number[];
  } catch {
    // not JSON: plain numbers
  }
  return text
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map(Number);
}

export function TryIt({ deployment }: { deployment: Deployment }) {
  const [body, setBody] = useState(() => exampleBody(deployment));
  const [answer, setAnswer] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      setError(`The body is not JSON: ${errorText(err)}`);
      return;
    }
    setBusy(true);
    try {
      setAnswer(await serving.predict(deployment.name, parsed));
    } catch (err) {
      setAnswer(null);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const upload = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    const values = numbersOf(await file.text());
    if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
      setError(`${file.name} does not hold numbers only.`);
      return;
    }
    const input = deployment.signature?.inputs.find((i) => !(deployment.state ?? []).some((s) => s.input === i.name));
    setBody(takesImage(deployment) && values.length === 784 ? JSON.stringify({ image: values }) : JSON.stringify({ inputs: { [input?.name ?? 'input']: [values] } }));
    setError(null);
  };

  return (
    <form className="stack-sm" onSubmit={(e) => void send(e)} aria-label="Try it" data-testid="try-it">
      <div className="field">
        <label htmlFor="try-body">Request body (JSON)</label>
        <textarea id="try-body" className="textarea mono" rows={5} value={body} onChange={(e) => setBody(e.target.value)} spellCheck={false} />
        <span className="field-help">
          <code>{'{"inputs": …}'}</code> with nested arrays per input{takesImage(deployment) ? <>, or <code>{'{"image": [784 numbers]}'}</code></> : null}.
        </span>
      </div>
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          <Icon name="play" /> {busy ? 'Predicting…' : 'Predict'}
        </button>
        <label className="btn">
          <Icon name="upload" /> Upload numbers
          <input type="file" accept=".json,.txt,.csv,text/plain,application/json" className="visually-hidden" onChange={(e) => void upload(e)} data-testid="try-upload" />
        </label>
      </div>
      {error && (
        <div className="field-error" role="alert" data-testid="try-error">
          {error}
        </div>
      )}
      {answer !== null && (
        <div data-testid="try-answer">
          <JsonView value={answer} />
        </div>
      )}
    </form>
  );
}
