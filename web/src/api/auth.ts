/**
 * The API key the UI signs in with (docs/api.md "Authentication"): kept in sessionStorage, so
 * it lasts as long as the browser tab and is never written to disk by us. Requests send it as
 * `Authorization: Bearer`; what a browser cannot give headers to (WebSocket, <img>, links)
 * carries it as `?access_token=`. A server that needs no key (loopback) never answers 401, so
 * the sign-in form never shows there.
 */
const STORAGE = 'lakeray.api_key';

let key: string | null = readStored();
const listeners = new Set<(needed: boolean) => void>();

function readStored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE);
  } catch {
    return null; // storage disabled: the key lives in memory for this page only
  }
}

export const apiKey = (): string | null => key;

export function setApiKey(value: string | null): void {
  key = value;
  try {
    if (value === null) sessionStorage.removeItem(STORAGE);
    else sessionStorage.setItem(STORAGE, value);
  } catch {
    // storage disabled: kept in memory only
  }
  for (const fn of listeners) fn(false);
}

/** Headers that carry the key, if there is one. */
export const authHeaders = (): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

/** Whether `url` goes to this server (a key never goes anywhere else, e.g. a presigned S3 link). */
function ownServer(url: string): boolean {
  if (url.startsWith('/')) return !url.startsWith('//');
  try {
    return new URL(url).host === location.host;
  } catch {
    return false;
  }
}

/** `url` with the key as `access_token` (GET only: WebSocket, images, downloads), for this server's URLs only. */
export function withToken(url: string): string {
  if (!key || !ownServer(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(key)}`;
}

/** A request got 401: whoever listens (the sign-in form) asks for a key. */
export function signInNeeded(): void {
  for (const fn of listeners) fn(true);
}

export function onSignInNeeded(fn: (needed: boolean) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
