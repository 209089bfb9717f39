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
  const state = { filter: "all", q: "", items: [], total: 0, editing: null, loaded: false };
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
    const rows = state.items.map((task) => (state.editing === task.id ? editRow(task) : taskRow(task)));
    el.list.replaceChildren(...rows);
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
    const checkbox = h("input", {
      type: "checkbox",
      class: "check",
      checked: task.completed,
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
      },
      h("label", { class: "check-wrap" }, checkbox, h("span", { class: "check-box", "aria-hidden": "true" }, icon("check"))),
      h(
        "div",
        { class: "task-body" },
        title,
        task.description ? h("p", { class: "task-desc", text: task.description }) : null,
        h("p", { class: "task-meta", text: when }),
      ),
      h(
        "div",
        { class: "task-actions" },
        h(
          "button",
          { type: "button", class: "icon-btn", "aria-label": `Edit “${task.title}”`, title: "Edit", onclick: () => startEdit(task.id) },
          icon("pencil"),
        ),
        h(
          "button",
          { type: "button", class: "icon-btn danger", "aria-label": `Delete “${task.title}”`, title: "Delete", onclick: () => remove(task) },
          icon("trash"),
        ),
      ),
    );
  }

  function editRow(task) {
    const titleInput = h("input", { type: "text", class: "edit-title", value: task.title, maxlength: 200, required: true, "aria-label": "Title" });
    const descInput = h("textarea", { class: "edit-desc", rows: 2, maxlength: 2000, placeholder: "Notes (optional)", "aria-label": "Notes" });
    descInput.value = task.description || "";
    const cancel = () => {
      state.editing = null;
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
          try {
            await api.updateTask(task.id, { title, description });
            state.editing = null;
            highlight.add(task.id);
            await load();
            focusRow(task.id, ".icon-btn");
            announce(`Saved “${title}”`);
          } catch (err) {
            showError(err, "Couldn't save your changes.");
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
    setTimeout(() => {
      titleInput.focus();
      titleInput.select();
    });
    return h("li", { class: "task editing", dataset: { id: task.id } }, form);
  }

  function startEdit(id) {
    state.editing = id;
    render();
  }

  function focusRow(id, selector) {
    el.list.querySelector(`li[data-id="${CSS.escape(String(id))}"] ${selector}`)?.focus();
  }

  async function add(title) {
    el.addSubmit.disabled = true;
    try {
      const task = await api.addTask(title);
      el.addTitle.value = "";
      if (task?.id != null) highlight.add(task.id);
      // A new task is pending: make sure it is visible.
      if (state.filter === "completed") setFilter("pending", { reload: false });
      await load();
      announce(`Added “${title}”`);
    } catch (err) {
      showError(err, "Couldn't add the task.");
    } finally {
      el.addSubmit.disabled = false;
      el.addTitle.focus();
    }
  }

  async function toggle(task, completed) {
    try {
      await api.updateTask(task.id, { completed });
      highlight.add(task.id);
      await load();
      focusRow(task.id, ".check");
      announce(completed ? `Completed “${task.title}”` : `Marked “${task.title}” as not done`);
    } catch (err) {
      showError(err, "Couldn't update the task.");
      render();
    }
  }

  async function remove(task) {
    try {
      await api.deleteTask(task.id);
      await load();
      toast(`Deleted “${task.title}”`, {
        action: { label: "Undo", run: () => restore(task) },
        timeout: 7000,
      });
      el.addTitle.focus();
    } catch (err) {
      showError(err, "Couldn't delete the task.");
    }
  }

  // Undo of a delete: the task comes back as a new one with the same content.
  async function restore(task) {
    try {
      const again = await api.addTask(task.title, task.description);
      if (task.completed && again?.id != null) await api.updateTask(again.id, { completed: true });
      if (again?.id != null) highlight.add(again.id);
      await load();
      toast(`Restored “${task.title}”`);
    } catch (err) {
      showError(err, "Couldn't restore the task.");
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
      Object.assign(state, { filter: "all", q: "", items: [], total: 0, editing: null, loaded: false });
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
