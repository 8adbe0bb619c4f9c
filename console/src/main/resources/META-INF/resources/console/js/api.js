// REST client of the console. The key lives in sessionStorage (this tab only) and travels in X-API-Key (an OIDC
// access token pasted instead travels as a bearer token): no cookies, so the browser never attaches credentials on
// its own and there is no CSRF surface.

const KEY = 'inctrl.console.key';
const ROLE = 'inctrl.console.role';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get role() { return sessionStorage.getItem(ROLE); },
  /** GET /v1/model of the signed-in server (in memory only; read again at every sign-in and page load). */
  model: null,
  set(key, role) { sessionStorage.setItem(KEY, key); sessionStorage.setItem(ROLE, role); },
  clear() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(ROLE); this.model = null; },
  /** admin: tenant management; tenant: the tenant's own data; local: security off, both. */
  can(what) {
    const r = this.role;
    return r === 'local' || r === what;
  },
};

/**
 * The header a credential travels in: an OIDC access token (a JWT: three base64url parts, the header part starting
 * "eyJ") as `Authorization: Bearer`, anything else (API keys start "ik_") as `X-API-Key`.
 */
export function credentialHeaders(credential) {
  if (!credential) return {};
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(credential)
    ? { Authorization: `Bearer ${credential}` }
    : { 'X-API-Key': credential };
}

/** A failed call: HTTP status plus the RFC 7807 problem the server sent (title, detail, reason). */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter;
  }
}

const STATUS_TEXT = {
  400: 'Invalid request', 401: 'Not signed in or key not accepted', 403: 'Not allowed with this key',
  404: 'Not found', 409: 'Conflict', 413: 'Upload too large', 429: 'Too many requests or quota reached',
  500: 'Server error', 503: 'Service unavailable',
};

/** One line for people: what failed, the server's explanation, and its machine code. */
export function describeError(err) {
  if (!(err instanceof ApiError)) {
    return `Cannot reach the server (${err?.message || err}). Is it running?`;
  }
  const p = err.problem;
  const head = STATUS_TEXT[err.status] || p.title || `HTTP ${err.status}`;
  const code = [`HTTP ${err.status}`, p.reason].filter(Boolean).join(', ');
  const retry = err.status === 429 && err.retryAfter ? ` Retry after ${err.retryAfter} s.` : '';
  return `${head}: ${err.message} (${code}).${retry}`;
}

async function problemOf(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.trim().slice(0, 300) || res.statusText };
  }
}

/**
 * fetch with the session key. `json` becomes a JSON body; `form` a multipart FormData body; `key` overrides the
 * session key (sign-in probes a key before storing it).
 */
export async function api(path, { method = 'GET', json, form, key, signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...credentialHeaders(key ?? session.key) };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const res = await fetch(path, { method, headers, body, signal, credentials: 'omit', cache: 'no-store' });
  if (res.status === 204) return null;
  if (!res.ok) throw new ApiError(res.status, await problemOf(res), res.headers.get('Retry-After'));
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

/** Multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can). */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = false;
    for (const [name, value] of Object.entries(credentialHeaders(session.key))) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded / e.total, 'upload'); };
    xhr.upload.onload = () => onProgress?.(1, 'processing');
    xhr.onerror = () => reject(new Error('network error during upload'));
    xhr.onload = () => {
      let data;
      try { data = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { data = { detail: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data, xhr.getResponseHeader('Retry-After')));
    };
    xhr.send(form);
  });
}
