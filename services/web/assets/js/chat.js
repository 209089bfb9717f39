// The chat panel: the conversation with the assistant, the actions it took on the user's tasks
// (shown under its reply), and history that survives reloads (read back from the API, which
// keeps every conversation; the panel reopens the one the user had open last).

import { api, ApiError } from "./api.js";
import { h, icon, show, toast } from "./dom.js";

const MUTATING = new Set(["add_task", "complete_task", "update_task", "delete_task"]);
const SUGGESTIONS = ["add buy oat milk", "what's still pending?", "mark buy oat milk as done"];

export function createChat({ onTasksChanged }) {
  const el = {
    log: document.getElementById("chat-log"),
    form: document.getElementById("chat-form"),
    input: document.getElementById("chat-input"),
    send: document.getElementById("chat-send"),
    error: document.getElementById("chat-error"),
    fresh: document.getElementById("chat-new"),
  };
  el.send.append(icon("send"));
  // `generation` counts conversations shown in this panel (a sign-in, a sign-out, "New chat"):
  // a request started under an earlier one is aborted, and if its answer still arrives it is
  // dropped, so a reply never lands in another user's (or a newer) conversation.
  const state = { conversationId: null, busy: false, userKey: null, generation: 0, controller: null };

  const storageKey = () => `todo.conversation.${state.userKey}`;

  // Ends whatever the panel was waiting for and starts a new generation; returns its signal.
  function restart() {
    state.generation += 1;
    state.controller?.abort();
    state.controller = new AbortController();
    state.busy = false;
    el.send.disabled = false;
    return state.controller.signal;
  }

  async function open(user) {
    const signal = restart();
    const generation = state.generation;
    state.userKey = user?.id ?? user?.email ?? "anonymous";
    state.conversationId = null;
    el.log.replaceChildren(h("p", { class: "chat-loading", text: "Loading your conversation…" }));
    show(el.error, false);
    try {
      const page = await api.conversations(signal);
      if (generation !== state.generation) return;
      const items = Array.isArray(page?.items) ? page.items : [];
      const remembered = localStorage.getItem(storageKey());
      const latest = [...items].sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)))[0];
      const chosen = items.find((c) => String(c.id) === remembered) ?? latest;
      if (!chosen) return welcome();
      state.conversationId = chosen.id;
      const history = await api.messages(chosen.id, signal);
      if (generation !== state.generation) return;
      renderHistory(Array.isArray(history?.items) ? history.items : []);
    } catch (err) {
      if (err.name === "AbortError" || generation !== state.generation) return;
      if (err instanceof ApiError && err.status === 401) return;
      welcome();
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 405))) {
        showError(err instanceof ApiError ? err.message : "Couldn't load your conversation.");
      }
    }
  }

  function welcome() {
    el.log.replaceChildren(
      h(
        "div",
        { class: "chat-welcome" },
        h("div", { class: "chat-avatar large", "aria-hidden": "true" }, icon("sparkle")),
        h("p", { class: "chat-welcome-title", text: "Hi! I can manage your tasks for you." }),
        h("p", { class: "chat-welcome-detail", text: "Tell me what to add, finish or change, in plain words. Try:" }),
        h(
          "div",
          { class: "suggestions" },
          SUGGESTIONS.map((text) =>
            h("button", { type: "button", class: "chip", text, onclick: () => send(text) }),
          ),
        ),
      ),
    );
  }

  // Stored messages: the user's and the assistant's words as bubbles; tool calls and their
  // results folded into the action list of the assistant reply that follows them.
  function renderHistory(messages) {
    const nodes = [];
    let pending = [];
    const calls = new Map();
    for (const message of messages) {
      if (message.role === "user") {
        nodes.push(bubble("user", message.content));
      } else if (message.role === "assistant") {
        for (const call of normaliseCalls(message.tool_calls)) calls.set(call.id, call);
        if (message.content && message.content.trim()) {
          nodes.push(bubble("assistant", message.content, pending));
          pending = [];
        }
      } else if (message.role === "tool") {
        const call = calls.get(message.tool_call_id) || { tool: "tool", arguments: {} };
        pending.push({ tool: call.tool, arguments: call.arguments, result: parse(message.content) });
      }
    }
    if (pending.length) nodes.push(bubble("assistant", "", pending));
    if (nodes.length === 0) return welcome();
    el.log.replaceChildren(...nodes);
    scrollToEnd("instant");
  }

  async function send(text) {
    const message = text.trim();
    if (!message || state.busy) return;
    const generation = state.generation;
    const signal = state.controller?.signal;
    state.busy = true;
    el.send.disabled = true;
    show(el.error, false);
    el.log.querySelector(".chat-welcome")?.remove();
    const mine = bubble("user", message);
    const typing = h(
      "div",
      { class: "msg assistant typing", "aria-label": "The assistant is typing" },
      h("div", { class: "chat-avatar", "aria-hidden": "true" }, icon("sparkle")),
      h("div", { class: "bubble" }, h("span", { class: "dot" }), h("span", { class: "dot" }), h("span", { class: "dot" })),
    );
    el.log.append(mine, typing);
    el.input.value = "";
    autosize();
    scrollToEnd();
    try {
      const reply = await api.chat(message, state.conversationId, signal);
      if (generation !== state.generation) return;
      typing.remove();
      if (reply?.conversation_id != null) {
        state.conversationId = reply.conversation_id;
        localStorage.setItem(storageKey(), String(reply.conversation_id));
      }
      const actions = Array.isArray(reply?.actions) ? reply.actions : [];
      el.log.append(bubble("assistant", reply?.reply ?? "", actions));
      scrollToEnd();
      const changed = actions.filter((action) => MUTATING.has(action.tool));
      if (changed.length) await onTasksChanged(changed.map(taskIdOf).filter((id) => id != null));
    } catch (err) {
      if (err.name === "AbortError" || generation !== state.generation) return;
      typing.remove();
      mine.classList.add("failed");
      if (err instanceof ApiError && err.status === 401) return;
      el.input.value = message;
      autosize();
      let text = err instanceof ApiError ? err.message : "Something went wrong.";
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        text = "The assistant isn't available on this server yet. Your tasks still work as usual.";
      } else if (err instanceof ApiError && err.status === 429) {
        text = `The assistant needs a breather. Try again in ${err.retryAfter || "a few"} seconds.`;
      }
      showError(text, () => send(el.input.value));
    } finally {
      // A newer generation has reset these already, and the user may be elsewhere by now.
      if (generation === state.generation) {
        state.busy = false;
        el.send.disabled = false;
        el.input.focus();
      }
    }
  }

  function bubble(role, content, actions = []) {
    const body = h("div", { class: "bubble" });
    if (content) for (const paragraph of String(content).split(/\n{2,}/)) body.append(h("p", { text: paragraph }));
    if (actions.length) {
      body.append(
        h(
          "ul",
          { class: "actions", "aria-label": "What the assistant did" },
          actions.map((action) => {
            const { text, ok } = describe(action);
            return h("li", { class: `action${ok ? "" : " action-failed"}` }, icon(ok ? iconFor(action.tool) : "alert"), h("span", { text }));
          }),
        ),
      );
    }
    const who = h("span", { class: "visually-hidden", text: role === "user" ? "You said:" : "Assistant:" });
    return h(
      "div",
      { class: `msg ${role}` },
      role === "assistant" ? h("div", { class: "chat-avatar", "aria-hidden": "true" }, icon("sparkle")) : null,
      who,
      body,
    );
  }

  function showError(text, retry) {
    el.error.replaceChildren(
      icon("alert"),
      h("span", { text }),
      retry ? h("button", { type: "button", class: "link-button", text: "Try again", onclick: retry }) : null,
    );
    show(el.error, true);
  }

  // Whether the log shows its latest message. It stays there when the log changes size (the
  // phone's Assistant tab opening: while hidden the log has no size, so it cannot be scrolled;
  // the window resized; the message box growing) unless the user scrolled up to read.
  let atEnd = true;
  let lastTop = 0;

  function scrollToEnd(behavior = "smooth") {
    atEnd = true;
    el.log.scrollTo({ top: el.log.scrollHeight, behavior });
  }

  el.log.addEventListener(
    "scroll",
    () => {
      if (el.log.clientHeight === 0) return; // hidden
      const top = el.log.scrollTop;
      if (el.log.scrollHeight - el.log.clientHeight - top <= 2) atEnd = true;
      else if (top < lastTop) atEnd = false; // scrolled up (a smooth scroll to the end only goes down)
      lastTop = top;
    },
    { passive: true },
  );
  new ResizeObserver(() => {
    if (el.log.clientHeight === 0) lastTop = 0; // hidden: shown again, it starts at the top
    else if (atEnd) scrollToEnd("instant");
  }).observe(el.log);

  // The phone layout floats toasts above the message box, whatever its height (see app.css).
  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--chat-form-height", `${el.form.offsetHeight}px`);
  }).observe(el.form);

  // One line tall when empty, growing with the text up to 160px. The height set is the border
  // box's: the borders come on top of the content's scrollHeight, or the box scrolls by them.
  function autosize() {
    el.input.style.height = "auto";
    const borders = el.input.offsetHeight - el.input.clientHeight;
    el.input.style.height = `${Math.min(el.input.scrollHeight + borders, 160)}px`;
  }

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(el.input.value);
  });
  el.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(el.input.value);
    }
  });
  el.input.addEventListener("input", autosize);
  el.fresh.addEventListener("click", () => {
    restart();
    state.conversationId = null;
    localStorage.removeItem(storageKey());
    show(el.error, false);
    welcome();
    el.input.focus();
    toast("Started a new conversation");
  });

  return {
    open,
    reset() {
      restart();
      state.conversationId = null;
      state.userKey = null;
      el.log.replaceChildren();
      el.input.value = "";
      show(el.error, false);
    },
  };
}

function parse(value) {
  if (typeof value !== "string") return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

// Tool calls as stored by the API: OpenAI's `{ id, function: { name, arguments } }` or our own
// `{ id, tool, arguments }`.
function normaliseCalls(toolCalls) {
  const list = Array.isArray(toolCalls) ? toolCalls : Array.isArray(parse(toolCalls)) ? parse(toolCalls) : [];
  return list.map((call) => ({
    id: call.id,
    tool: call.function?.name ?? call.tool ?? call.name ?? "tool",
    arguments: parse(call.function?.arguments ?? call.arguments) ?? {},
  }));
}

function taskOf(action) {
  const result = parse(action.result);
  if (result && typeof result === "object") return result.task ?? (result.title != null ? result : null);
  return null;
}

function taskIdOf(action) {
  return taskOf(action)?.id ?? parse(action.arguments)?.task_id ?? parse(action.arguments)?.id ?? null;
}

function iconFor(tool) {
  return { add_task: "plus", complete_task: "check", update_task: "pencil", delete_task: "trash", list_tasks: "list" }[tool] ?? "sparkle";
}

// One line per action, in words: "Added “buy oat milk”".
export function describe(action) {
  const args = parse(action.arguments) ?? {};
  const result = parse(action.result);
  const failure = result && typeof result === "object" ? result.error : null;
  const title = taskOf(action)?.title ?? args.title ?? (args.task_id != null ? `task #${args.task_id}` : "a task");
  const quoted = `“${title}”`;
  if (failure) {
    const why = typeof failure === "string" ? failure : failure.message ?? "it failed";
    return { ok: false, text: `Couldn't ${verb(action.tool)} ${quoted}: ${why}` };
  }
  switch (action.tool) {
    case "add_task":
      return { ok: true, text: `Added ${quoted}` };
    case "complete_task":
      return { ok: true, text: args.completed === false ? `Reopened ${quoted}` : `Completed ${quoted}` };
    case "update_task":
      return { ok: true, text: `Updated ${quoted}` };
    case "delete_task":
      return { ok: true, text: `Deleted ${quoted}` };
    case "list_tasks": {
      const items = Array.isArray(result) ? result : result?.items;
      const count = result?.total ?? items?.length;
      return { ok: true, text: count == null ? "Looked at your tasks" : `Looked at your tasks (${count} found)` };
    }
    default:
      return { ok: true, text: `Used ${action.tool}` };
  }
}

function verb(tool) {
  return { add_task: "add", complete_task: "complete", update_task: "update", delete_task: "delete", list_tasks: "list" }[tool] ?? "do";
}
