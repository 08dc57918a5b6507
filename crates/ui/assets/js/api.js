// The API client: every request carries the signed-in key; errors come back as ApiError.

const KEY = "eventhose.key";

/** The key of this browser session, or null. */
export function key() {
  return sessionStorage.getItem(KEY);
}

/** Remembers the key for this browser session only. */
export function setKey(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

/** A refused or failed request: `status` (0 when the server was unreachable) and a readable message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** `path?query` with empty values left out. */
export function url(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function describe(status, body) {
  const errors = body && Array.isArray(body.errors) ? body.errors : [];
  const text = errors.map((e) => [e.message, e.description].filter(Boolean).join(": ")).join("; ");
  if (text) return text;
  if (status === 401) return "The API key was not accepted.";
  if (status === 403) return "This API key is not allowed to do that.";
  if (status === 429) return "The server is busy; try again in a moment.";
  return `The server answered ${status}.`;
}

/** Sends a request to `/api/v1{path}`; resolves to the parsed JSON body (null when empty). */
export async function request(method, path, { query, body, signal, headers: extra } = {}) {
  const headers = { Accept: "application/json", ...extra };
  const secret = key();
  if (secret) headers.Authorization = secret;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(`/api/v1${path}`, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The eventhose server could not be reached.");
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { text }; }
  if (!response.ok) {
    const error = new ApiError(response.status, describe(response.status, json), json);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("eventhose:unauthorised"));
    throw error;
  }
  return json;
}

/** `GET /api/v1{path}`. */
export const get = (path, query, options = {}) => request("GET", path, { ...options, query });

/** A page the server serves without a key (`/metrics`, `/readyz`): status and text. */
export async function plain(path) {
  const response = await fetch(path, { cache: "no-store" });
  return { status: response.status, text: await response.text() };
}
