// Building the DOM without HTML strings: the page's Trusted Types policy forbids innerHTML and
// friends, so every user-provided text (task titles, agent replies) can only ever be text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";

// 24×24 stroke icons (drawn for this app).
const ICONS = {
  pencil: ["M4 20h4L19 9l-4-4L4 16v4z", "M14 6l4 4"],
  trash: ["M4 7h16", "M10 11v6", "M14 11v6", "M6 7l1 13h10l1-13", "M9 7V4h6v3"],
  send: ["M4 12l16-8-6 16-3-7-7-1z"],
  check: ["M5 12l5 5 9-10"],
  plus: ["M12 5v14", "M5 12h14"],
  list: ["M9 6h11", "M9 12h11", "M9 18h11", "M4 6h.01", "M4 12h.01", "M4 18h.01"],
  sparkle: ["M12 3l2 6 6 2-6 2-2 6-2-6-6-2 6-2z"],
  x: ["M6 6l12 12", "M18 6L6 18"],
  undo: ["M9 14L4 9l5-5", "M4 9h10a6 6 0 010 12h-3"],
  alert: ["M12 8v5", "M12 16h.01", "M10.3 3.9L2 18a2 2 0 001.7 3h16.6a2 2 0 001.7-3L13.7 3.9a2 2 0 00-3.4 0z"],
};

export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function show(el, visible) {
  el.hidden = !visible;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

// "just now", "5 minutes ago", "yesterday", then the date.
export function timeAgo(iso) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return "";
  const seconds = Math.round((then.getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 7 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return then.toLocaleDateString(undefined, { month: "short", day: "numeric", year: "numeric" });
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Tells screen-reader users what just happened, without anything appearing on screen: for
// changes the page already shows (a new row, a ticked box).
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A fresh text node in a later task, so the same message twice is read twice.
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

// A message everyone sees (and screen readers hear), optionally with an action such as Undo.
export function toast(message, { kind = "info", action = null, timeout = 4000 } = {}) {
  const region = document.getElementById("toasts");
  const close = () => {
    item.classList.add("leaving");
    setTimeout(() => item.remove(), 200);
  };
  const item = h(
    "div",
    { class: `toast toast-${kind}` },
    kind === "error" ? icon("alert") : icon("check"),
    h("span", { class: "toast-text", text: message }),
    action &&
      h("button", {
        type: "button",
        class: "toast-action",
        text: action.label,
        onclick: () => {
          close();
          action.run();
        },
      }),
    h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onclick: close }, icon("x")),
  );
  region.append(item);
  // A burst of actions must not pile up a wall of toasts: keep the newest few.
  const items = region.querySelectorAll(".toast:not(.leaving)");
  for (const old of [...items].slice(0, Math.max(0, items.length - 3))) old.remove();
  if (timeout) setTimeout(close, timeout);
}
