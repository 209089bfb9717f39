// The API client: one `fetch` wrapper that adds the session token, turns every failure into an
// ApiError with the API's stable error code, and tells the app when the session has expired or
// the server cannot be reached, so each screen only handles what is specific to it.

export const SESSION_KEY = "todo.session";

// What todo-web's proxy answers when it cannot reach todo-api: JSON like the API's own errors,
// but they do mean the API is unreachable.
const PROXY_UNREACHABLE = new Set(["upstream_unavailable", "upstream_timeout"]);

export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = null, explained = false } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0: no answer at all (network down, server stopped)
    this.code = code;
    this.retryAfter = retryAfter;
    this.explained = explained; // the answer carried an API error body (`{ error: { code } }`)
  }

  // Only a missing answer, or a gateway's bare 502/503/504, means the server is out of reach.
  // The API also answers 502/503 for its own upstream failures (llm_unavailable, llm_rejected,
  // timeout): the server is up, and the screen that asked shows the API's message instead.
  get unreachable() {
    if (this.status === 0) return true;
    if (this.status !== 502 && this.status !== 503 && this.status !== 504) return false;
    return !this.explained || PROXY_UNREACHABLE.has(this.code);
  }
}

const listeners = { unauthorized: [], connectivity: [] };

export function on(event, listener) {
  listeners[event].push(listener);
}

function emit(event, value) {
  for (const listener of listeners[event]) listener(value);
}

// The session lives in localStorage so a reload keeps the user signed in. The page's CSP
// (no inline script, Trusted Types) is what keeps other scripts from reading it.
export const session = {
  get() {
    try {
      const value = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
      return value && typeof value.token === "string" ? value : null;
    } catch {
      return null;
    }
  },
  set(token, user) {
    localStorage.setItem(SESSION_KEY, JSON.stringify({ token, user }));
  },
  clear() {
    localStorage.removeItem(SESSION_KEY);
  },
};

const MESSAGES = {
  0: "Can't reach the server. Check your connection and try again.",
  502: "The server is not answering right now. Try again in a moment.",
  503: "The server is starting up or busy. Try again in a moment.",
  504: "The server took too long to answer. Try again.",
};

export async function request(method, path, { body, auth = true, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const current = session.get();
  if (auth && current) headers.Authorization = `Bearer ${current.token}`;
  const sentToken = auth ? (current?.token ?? null) : null;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    emit("connectivity", false);
    throw new ApiError(0, "network_error", MESSAGES[0]);
  }

  const data = await readJson(response);
  if (response.ok) {
    emit("connectivity", true);
    return data;
  }
  const error = data && data.error ? data.error : {};
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  const apiError = new ApiError(
    response.status,
    error.code || `http_${response.status}`,
    error.message || MESSAGES[response.status] || `Something went wrong (HTTP ${response.status}).`,
    { retryAfter, explained: typeof error.code === "string" },
  );
  if (apiError.unreachable) emit("connectivity", false);
  else emit("connectivity", true);
  // A 401 for a token that is no longer the stored one (a request from before a sign-in, here
  // or in another tab) says nothing about the current session.
  const stored = session.get()?.token ?? null;
  if (response.status === 401 && auth && (stored === null || stored === sentToken)) emit("unauthorized", apiError);
  throw apiError;
}

async function readJson(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export const api = {
  signUp: (email, password) => request("POST", "/api/auth/signup", { body: { email, password }, auth: false }),
  signIn: (email, password) => request("POST", "/api/auth/login", { body: { email, password }, auth: false }),
  me: () => request("GET", "/api/auth/me"),
  listTasks: ({ status = "all", q = "", limit = 50, offset = 0 } = {}, signal) => {
    const params = new URLSearchParams({ status, limit: String(limit), offset: String(offset) });
    if (q) params.set("q", q);
    return request("GET", `/api/tasks?${params}`, { signal });
  },
  addTask: (title, description) =>
    request("POST", "/api/tasks", { body: description ? { title, description } : { title } }),
  updateTask: (id, changes) => request("PATCH", `/api/tasks/${encodeURIComponent(id)}`, { body: changes }),
  deleteTask: (id) => request("DELETE", `/api/tasks/${encodeURIComponent(id)}`),
  conversations: (signal) => request("GET", "/api/conversations?limit=20", { signal }),
  messages: (conversationId, signal) =>
    request("GET", `/api/conversations/${encodeURIComponent(conversationId)}/messages`, { signal }),
  chat: (message, conversationId, signal) =>
    request("POST", "/api/chat", {
      body: conversationId == null ? { message } : { conversation_id: conversationId, message },
      signal,
    }),
};
