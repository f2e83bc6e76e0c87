/**
 * The sign-in form: shown over the app once the server answers 401 (it needs an API key); a
 * keyless loopback server never does, so there it never appears. The key is checked with one
 * request before it is kept (api/auth.ts), then the page reloads so every view and stream
 * starts again with it.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { apiKey, onSignInNeeded, setApiKey } from '../api/auth.ts';

export function SignIn() {
  const [needed, setNeeded] = useState(false);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => onSignInNeeded((n) => n && setNeeded(true)), []);
  if (!needed) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const key = value.trim();
    if (!key) return;
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/v1/tasks?limit=1', { headers: { accept: 'application/json', authorization: `Bearer ${key}` } });
      if (res.status === 401) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        setError(body?.error?.message ?? 'The server refused this key');
        return;
      }
      setApiKey(key);
      location.reload();
    } catch {
      setError('The Lakeray API is not reachable');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin-backdrop" role="dialog" aria-modal="true" aria-labelledby="signin-title">
      <form className="card card-body stack signin" onSubmit={(e) => void submit(e)}>
        <h2 id="signin-title">Sign in</h2>
        <p className="small">
          This server needs an API key{apiKey() ? ' (the one you signed in with is no longer valid)' : ''}. An administrator makes one with <code>lakeray keys create</code>. It is kept for this browser tab only.
        </p>
        <div className="field">
          <label htmlFor="signin-key">API key</label>
          <input id="signin-key" name="api_key" className="input" type="password" autoComplete="off" autoFocus value={value} onChange={(e) => setValue(e.target.value)} placeholder="lrk1.…" />
          {error && (
            <span className="field-error" role="alert">
              {error}
            </span>
          )}
        </div>
        <button className="btn btn-primary" type="submit" disabled={busy || !value.trim()}>
          Sign in
        </button>
      </form>
    </div>
  );
}

/** "Sign out" in the sidebar while a key is kept. */
export function SignOut() {
  if (!apiKey()) return null;
  return (
    <button
      type="button"
      className="btn btn-sm"
      onClick={() => {
        setApiKey(null);
        location.reload();
      }}
    >
      Sign out
    </button>
  );
}
