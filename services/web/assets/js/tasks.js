// The task list: add, inline edit, complete/uncomplete, delete, filter and search. The server
// is the source of truth: after each change the list is re-read with the current filter, so it
// always matches what the assistant sees too.

import { api, ApiError } from "./api.js";
import { announce, debounce, h, icon, show, timeAgo, toast } from "./dom.js";

const PAGE_SIZE = 50;

export function createTasks() {
  const el = {
    list: document.getElementById("task-list"),
    empty: document.getElementById("task-empty"),
    error: document.getElementById("task-error"),
    summary: document.getElementById("task-summary"),
    addForm: document.getElementById("add-form"),
    addTitle: document.getElementById("add-title"),
    addSubmit: document.getElementById("add-submit"),
    search: document.getElementById("search"),
    more: document.getElementById("load-more"),
    filters: [...document.querySelectorAll("[data-filter]")],
  };
  // `draft`: what the user has typed in the edit form of task `editing`, so a reload of the list
  // (the assistant acted, the connection came back) rebuilds the form without losing it.
  // `busy`: ids of tasks with a change in flight, whose controls stay disabled until it settles.
  // `generation` changes on reset (sign-out): answers to older requests must not toast or focus.
  const signedOut = () => ({
    filter: "all",
    q: "",
    items: [],
    total: 0,
    editing: null,
    draft: null,
    loaded: false,
    busy: new Set(),
  });
  const state = { ...signedOut(), generation: 0 };
  let inflight = null;
  let highlight = new Set();

  // Reads the first page (or the next one with `more`), dropping any older read still running:
  // a fast typist's earlier searches must not overwrite the latest one.
  async function load({ more = false } = {}) {
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    el.list.setAttribute("aria-busy", "true");
    try {
      const offset = more ? state.items.length : 0;
      const page = await api.listTasks({ status: state.filter, q: state.q, limit: PAGE_SIZE, offset }, controller.signal);
      const items = Array.isArray(page?.items) ? page.items : [];
      state.items = more ? state.items.concat(items) : items;
      state.total = Number.isFinite(page?.total) ? page.total : state.items.length;
      state.loaded = true;
      show(el.error, false);
      render();
      refreshSummary();
    } catch (err) {
      if (err.name === "AbortError") return;
      showError(err, "Couldn't load your tasks.");
    } finally {
      if (inflight === controller) {
        inflight = null;
        el.list.setAttribute("aria-busy", "false");
      }
    }
  }

  // "3 pending · 2 completed", from two cheap counts that ignore the current filter and search.
  async function refreshSummary() {
    try {
      const [pending, completed] = await Promise.all([
        api.listTasks({ status: "pending", limit: 1 }),
        api.listTasks({ status: "completed", limit: 1 }),
      ]);
      const parts = [`${pending.total} pending`, `${completed.total} completed`];
      el.summary.textContent = pending.total + completed.total === 0 ? "Nothing here yet" : parts.join(" · ");
    } catch {
      el.summary.textContent = "";
    }
  }

  function render() {
    // The rows are rebuilt: keep the focus and caret where they were in the edit form.
    const active = document.activeElement;
    const field = el.list.contains(active) && active.matches(".edit-title, .edit-desc") ? active : null;
    const rows = state.items.map((task) => (state.editing === task.id ? editRow(task) : taskRow(task)));
    el.list.replaceChildren(...rows);
    if (field) {
      const again = el.list.querySelector(`.editing .${field.classList[0]}`);
      again?.focus();
      again?.setSelectionRange(field.selectionStart, field.selectionEnd, field.selectionDirection);
    }
    show(el.more, state.items.length < state.total);
    el.more.textContent = `Show more (${state.total - state.items.length} more)`;
    renderEmpty();
    highlight = new Set();
  }

  function renderEmpty() {
    const nothing = state.items.length === 0 && state.loaded;
    show(el.empty, nothing);
    if (!nothing) return;
    let title;
    let detail;
    if (state.q) {
      title = `No tasks match “${state.q}”`;
      detail = "Try another word, or clear the search.";
    } else if (state.filter === "pending") {
      title = "All done!";
      detail = "Nothing pending. Enjoy it, or add what's next.";
    } else if (state.filter === "completed") {
      title = "Nothing completed yet";
      detail = "Tick a task when you finish it and it shows up here.";
    } else {
      title = "No tasks yet";
      detail = "Add your first one above, or ask the assistant: “add buy oat milk”.";
    }
    el.empty.replaceChildren(
      h("div", { class: "empty-art" }, icon(state.filter === "pending" && !state.q ? "check" : "list", "icon icon-large")),
      h("p", { class: "empty-title", text: title }),
      h("p", { class: "empty-detail", text: detail }),
    );
  }

  function taskRow(task) {
    const label = `Mark “${task.title}” as ${task.completed ? "not done" : "done"}`;
    const busy = state.busy.has(task.id);
    const checkbox = h("input", {
      type: "checkbox",
      class: "check",
      checked: task.completed,
      disabled: busy,
      "aria-label": label,
      onchange: () => toggle(task, checkbox.checked),
    });
    const title = h("span", { class: "task-title", text: task.title, ondblclick: () => startEdit(task.id) });
    const when = task.completed ? `Done ${timeAgo(task.updated_at)}` : `Added ${timeAgo(task.created_at)}`;
    return h(
      "li",
      {
        class: `task${task.completed ? " done" : ""}${highlight.has(task.id) ? " flash" : ""}`,
        dataset: { id: task.id },
        "aria-busy": busy ? "true" : null,
      },
      h("label", { class: "check-wrap" }, checkbox, h("span", { class: "check-box", "aria-hidden": "true" }, icon("check"))),
      h(
        "div",
        { class: "task-body" },
        title,
        task.description ? h("p", { class: "task-desc", text: task.description }) : null,
        // The task's number in this user's list (the API's `id`): what the chat calls it ("mark 3
        // done"), so it is shown where the task is.
        h(
          "p",
          { class: "task-meta" },
          h("span", {
            class: "task-number",
            title: `Task number ${task.id}: say “mark ${task.id} done” in the chat`,
            text: `#${task.id}`,
          }),
          ` · ${when}`,
        ),
      ),
      h(
        "div",
        { class: "task-actions" },
        h(
          "button",
          {
            type: "button",
            class: "icon-btn",
            "aria-label": `Edit “${task.title}”`,
            title: "Edit",
            disabled: busy,
            onclick: () => startEdit(task.id),
          },
          icon("pencil"),
        ),
        h(
          "button",
          {
            type: "button",
            class: "icon-btn danger",
            "aria-label": `Delete “${task.title}”`,
            title: "Delete",
            disabled: busy,
            onclick: () => remove(task),
          },
          icon("trash"),
        ),
      ),
    );
  }

  function editRow(task) {
    const draft = state.draft ?? { title: task.title, description: task.description || "" };
    state.draft = draft;
    const titleInput = h("input", {
      type: "text",
      class: "edit-title",
      maxlength: 200,
      required: true,
      "aria-label": "Title",
      oninput: () => (draft.title = titleInput.value),
    });
    titleInput.value = draft.title;
    const descInput = h("textarea", {
      class: "edit-desc",
      rows: 2,
      maxlength: 2000,
      placeholder: "Notes (optional)",
      "aria-label": "Notes",
      oninput: () => (draft.description = descInput.value),
    });
    descInput.value = draft.description;
    const cancel = () => {
      state.editing = null;
      state.draft = null;
      render();
      focusRow(task.id, ".icon-btn");
    };
    const form = h(
      "form",
      {
        class: "edit-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const title = titleInput.value.trim();
          if (!title) {
            titleInput.focus();
            return;
          }
          const description = descInput.value.trim() || null;
          if (title === task.title && description === (task.description || null)) return cancel();
          const generation = state.generation;
          try {
            await api.updateTask(task.id, { title, description });
            if (generation !== state.generation) return;
            state.editing = null;
            state.draft = null;
            highlight.add(task.id);
            await load();
            focusRow(task.id, ".icon-btn");
            announce(`Saved “${title}”`);
          } catch (err) {
            if (generation === state.generation) showError(err, "Couldn't save your changes.");
          }
        },
        onkeydown: (event) => {
          if (event.key === "Escape") {
            event.preventDefault();
            cancel();
          }
        },
      },
      titleInput,
      descInput,
      h(
        "div",
        { class: "edit-actions" },
        h("button", { type: "button", class: "btn btn-ghost btn-small", text: "Cancel", onclick: cancel }),
        h("button", { type: "submit", class: "btn btn-primary btn-small", text: "Save" }),
      ),
    );
    return h("li", { class: "task editing", dataset: { id: task.id } }, form);
  }

  // Only here does the edit title take the focus: a later render (a reload while the user types
  // in the chat) must leave the focus where the user put it.
  function startEdit(id) {
    if (state.busy.has(id)) return;
    const task = state.items.find((item) => item.id === id);
    state.editing = id;
    state.draft = { title: task?.title ?? "", description: task?.description || "" };
    render();
    const title = el.list.querySelector(".editing .edit-title");
    title?.focus();
    title?.select();
  }

  function row(id) {
    return el.list.querySelector(`li[data-id="${CSS.escape(String(id))}"]`);
  }

  function focusRow(id, selector) {
    const target = row(id)?.querySelector(selector);
    target?.focus();
    return Boolean(target);
  }

  // The focused control was removed or re-rendered (nothing else took the focus meanwhile).
  function focusLost() {
    return !document.activeElement || document.activeElement === document.body;
  }

  // The other rows, nearest first: every row after `id`, then every row before it, backwards.
  function neighboursOf(id) {
    const ids = state.items.map((item) => item.id);
    const at = ids.indexOf(id);
    return at < 0 ? [] : [...ids.slice(at + 1), ...ids.slice(0, at).reverse()];
  }

  // Disables a row's controls while its change is in flight: a double click must not send a
  // second DELETE (which fails after the first succeeded) or a second PATCH.
  function setBusy(id, busy) {
    if (busy) state.busy.add(id);
    else state.busy.delete(id);
    const li = row(id);
    if (!li) return;
    if (busy) li.setAttribute("aria-busy", "true");
    else li.removeAttribute("aria-busy");
    for (const control of li.querySelectorAll("input, button")) control.disabled = busy;
  }

  async function add(title) {
    const generation = state.generation;
    el.addSubmit.disabled = true;
    try {
      const task = await api.addTask(title);
      if (generation !== state.generation) return;
      el.addTitle.value = "";
      if (task?.id != null) highlight.add(task.id);
      // A new task is pending: make sure it is visible.
      if (state.filter === "completed") setFilter("pending", { reload: false });
      await load();
      announce(`Added “${title}”`);
    } catch (err) {
      if (generation === state.generation) showError(err, "Couldn't add the task.");
    } finally {
      el.addSubmit.disabled = false;
      el.addTitle.focus();
    }
  }

  async function toggle(task, completed) {
    if (state.busy.has(task.id)) return;
    const generation = state.generation;
    const neighbours = neighboursOf(task.id);
    setBusy(task.id, true);
    try {
      await api.updateTask(task.id, { completed });
      if (generation !== state.generation) return;
      highlight.add(task.id);
      // Busy until the list shows the change: the old row must not take another click.
      await load();
      setBusy(task.id, false);
      // Under Pending (or Completed) the row has just left the list: keep the focus nearby
      // rather than let it fall to the page.
      if (focusLost() && ![task.id, ...neighbours].some((id) => focusRow(id, ".check"))) el.addTitle.focus();
      announce(completed ? `Completed “${task.title}”` : `Marked “${task.title}” as not done`);
    } catch (err) {
      if (generation !== state.generation) return;
      setBusy(task.id, false);
      showError(err, "Couldn't update the task.");
      render();
      if (focusLost()) focusRow(task.id, ".check");
    }
  }

  async function remove(task) {
    if (state.busy.has(task.id)) return;
    const generation = state.generation;
    setBusy(task.id, true);
    try {
      await api.deleteTask(task.id);
      if (generation !== state.generation) return;
      // Busy until the row is gone: a click on it in between would DELETE again (a 404).
      await load();
      setBusy(task.id, false);
      toast(`Deleted “${task.title}”`, {
        action: { label: "Undo", run: () => restore(task) },
        timeout: 7000,
      });
      el.addTitle.focus();
    } catch (err) {
      if (generation !== state.generation) return;
      setBusy(task.id, false);
      showError(err, "Couldn't delete the task.");
    }
  }

  // Undo of a delete: the task comes back as a new one with the same content.
  async function restore(task) {
    const generation = state.generation;
    try {
      const again = await api.addTask(task.title, task.description);
      if (task.completed && again?.id != null) await api.updateTask(again.id, { completed: true });
      if (generation !== state.generation) return;
      if (again?.id != null) highlight.add(again.id);
      await load();
      toast(`Restored “${task.title}”`);
    } catch (err) {
      if (generation === state.generation) showError(err, "Couldn't restore the task.");
    }
  }

  function showError(err, fallback) {
    if (err instanceof ApiError && err.status === 401) return; // the app is showing sign-in
    let message = err instanceof ApiError ? err.message : fallback;
    if (err instanceof ApiError && err.status === 429) {
      message = `You're going a bit fast. Try again in ${err.retryAfter || "a few"} seconds.`;
    }
    el.error.replaceChildren(icon("alert"), h("span", { text: `${fallback} ${message === fallback ? "" : message}`.trim() }));
    show(el.error, true);
  }

  function setFilter(filter, { reload = true } = {}) {
    state.filter = filter;
    for (const button of el.filters) button.setAttribute("aria-pressed", String(button.dataset.filter === filter));
    if (reload) load();
  }

  el.addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const title = el.addTitle.value.trim();
    if (title) add(title);
    else el.addTitle.focus();
  });
  for (const button of el.filters) button.addEventListener("click", () => setFilter(button.dataset.filter));
  const search = debounce(() => {
    state.q = el.search.value.trim();
    load();
  }, 250);
  el.search.addEventListener("input", search);
  el.search.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && el.search.value) {
      el.search.value = "";
      state.q = "";
      load();
    }
  });
  el.more.addEventListener("click", () => load({ more: true }));

  return {
    load,
    // Called after the assistant acted: re-read, and flash what it touched.
    changedElsewhere(ids) {
      for (const id of ids) highlight.add(id);
      return load();
    },
    reset() {
      inflight?.abort();
      Object.assign(state, signedOut(), { generation: state.generation + 1 });
      el.search.value = "";
      el.addTitle.value = "";
      el.summary.textContent = "";
      setFilter("all", { reload: false });
      el.list.replaceChildren();
      show(el.empty, false);
      show(el.error, false);
      show(el.more, false);
    },
  };
}
