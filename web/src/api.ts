// The one way the UI talks to `quantscope serve` (docs/api.md): JSON in and out, the bearer
// token, and the API's error shape turned into an ApiError that knows the field at fault.

const TOKEN_KEY = "quantscope.token";

// `#token=...` in the URL the server printed: kept for this tab, then removed from the address bar.
export function takeTokenFromUrl(): void {
  const match = location.hash.match(/(?:^#|&)token=([^&]*)/);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, "", location.pathname + location.search + "#/models");
}

export function accessToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly field?: string) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError("the server cannot be reached", 0);
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok) throw new ApiError(`${path}: the answer is not JSON`, response.status);
  }
  if (!response.ok) {
    const error = (data as { error?: { message?: string; field?: string } } | null)?.error;
    throw new ApiError(error?.message ?? `${method} ${path}: HTTP ${response.status}`, response.status, error?.field);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => request<T>("POST", path, body);

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

// EventSource cannot send headers: the stream takes the token as a query parameter.
export function eventsUrl(): string {
  const token = accessToken();
  return "/api/events" + (token ? query({ access_token: token }) : "");
}
