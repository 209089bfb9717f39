// Boot: decide between the sign-in screen and the app, wire sign up / sign in / sign out, the
// phone-sized view switch, the connection banner, and keyboard shortcuts.

import { api, ApiError, on, SESSION_KEY, session } from "./js/api.js";
import { createChat } from "./js/chat.js";
import { h, show, toast } from "./js/dom.js";
import { createTasks } from "./js/tasks.js";

const $ = (id) => document.getElementById(id);

// Records CSP violations where the browser tests can read them: there must never be one.
document.addEventListener("securitypolicyviolation", () => {
  const root = document.documentElement;
  root.dataset.cspViolations = String(Number(root.dataset.cspViolations || 0) + 1);
});

const tasks = createTasks();
const chat = createChat({ onTasksChanged: (ids) => tasks.changedElsewhere(ids) });

// ---- Views ---------------------------------------------------------------------------------

function showAuth(notice = "") {
  show($("boot"), false);
  show($("app-view"), false);
  show($("auth-view"), true);
  show($("auth-notice"), Boolean(notice));
  $("auth-notice").textContent = notice;
  show($("auth-error"), false);
  $("auth-password").value = "";
  setAuthMode("signin");
  ($("auth-email").value ? $("auth-password") : $("auth-email")).focus();
  document.title = "Sign in · Todo";
}

// The user whose data the app view shows (null while it shows sign-in).
let shownUser = null;

function showApp(user) {
  shownUser = user ?? {};
  show($("boot"), false);
  show($("auth-view"), false);
  show($("app-view"), true);
  $("user-email").textContent = user?.email ?? "";
  document.title = "Todo";
  tasks.reset();
  tasks.load();
  chat.open(user);
  $("add-title").focus();
}

// ---- Sign in / sign up ---------------------------------------------------------------------

let authMode = "signin";

function setAuthMode(mode) {
  authMode = mode;
  const signUp = mode === "signup";
  $("auth-title").textContent = signUp ? "Create your account" : "Welcome back";
  $("auth-subtitle").textContent = signUp
    ? "Start with an email and a password. Your tasks stay private to you."
    : "Sign in to see your tasks and talk to your assistant.";
  $("auth-submit").textContent = signUp ? "Create account" : "Sign in";
  $("auth-switch-text").textContent = signUp ? "Already have an account?" : "New here?";
  $("auth-switch").textContent = signUp ? "Sign in" : "Create an account";
  $("auth-password").setAttribute("autocomplete", signUp ? "new-password" : "current-password");
  show($("auth-password-hint"), signUp);
  show($("auth-error"), false);
}

function authError(message, field, action = null) {
  $("auth-error").replaceChildren(
    message,
    action ? " " : "",
    action ? h("button", { type: "button", class: "link-button", text: action.label, onclick: action.run }) : "",
  );
  show($("auth-error"), true);
  for (const input of [$("auth-email"), $("auth-password")]) input.removeAttribute("aria-invalid");
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

$("auth-switch").addEventListener("click", () => {
  setAuthMode(authMode === "signin" ? "signup" : "signin");
  show($("auth-notice"), false);
  $("auth-email").focus();
});

$("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("auth-email").value.trim();
  const password = $("auth-password").value;
  if (!email || !$("auth-email").checkValidity()) return authError("Enter a valid email address.", $("auth-email"));
  if (!password) return authError("Enter your password.", $("auth-password"));
  if (authMode === "signup" && password.length < 8) {
    return authError("Choose a password of at least 8 characters.", $("auth-password"));
  }
  const submit = $("auth-submit");
  submit.disabled = true;
  submit.setAttribute("aria-busy", "true");
  try {
    const result = authMode === "signup" ? await api.signUp(email, password) : await api.signIn(email, password);
    session.set(result.token, result.user);
    showApp(result.user);
    toast(authMode === "signup" ? "Welcome! Your account is ready." : `Signed in as ${result.user.email}`);
  } catch (err) {
    if (!(err instanceof ApiError)) return authError("Something went wrong. Please try again.");
    if (err.code === "email_taken") {
      authError("An account with this email already exists.", $("auth-email"), {
        label: "Sign in instead",
        run: () => {
          setAuthMode("signin");
          $("auth-password").focus();
        },
      });
    } else if (err.code === "invalid_credentials" || err.status === 401) {
      authError("That email and password don't match an account.", $("auth-password"));
    } else if (err.status === 429) {
      authError(`Too many attempts. Try again in ${err.retryAfter || "a few"} seconds.`);
    } else {
      authError(err.message);
    }
  } finally {
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
  }
});

// Forgets everything the signed-in user had on screen, including toasts: they name tasks, and
// an Undo clicked later would act with whoever is signed in by then.
function endSession() {
  shownUser = null;
  chat.reset();
  tasks.reset();
  $("toasts").replaceChildren();
}

$("sign-out").addEventListener("click", () => {
  session.clear();
  endSession();
  showAuth("You've signed out.");
});

// A 401 on any call means the token expired or was revoked: back to sign-in, once. Whether the
// app is showing decides, not whether a session is stored: another tab may have removed it.
// `account_not_found`: the token is valid but the server no longer has the account (its data
// was reset), so signing in cannot work and the message says to sign up.
on("unauthorized", (error) => {
  if ($("app-view").hidden) return;
  const email = session.get()?.user?.email ?? shownUser?.email ?? "";
  session.clear();
  endSession();
  $("auth-email").value = email;
  showAuth(
    error?.code === "account_not_found"
      ? "Your account no longer exists on this server (its data was reset). Please sign up again."
      : "Your session has expired. Please sign in again.",
  );
});

// Another tab signed out, or signed in (maybe as someone else): follow it rather than keep
// showing data every action on which would fail or go to another account. (`storage` fires
// only in the other tabs; a null key means all of localStorage was cleared.)
window.addEventListener("storage", (event) => {
  if (event.key !== SESSION_KEY && event.key !== null) return;
  const current = session.get();
  if (!current) {
    if ($("app-view").hidden) return;
    endSession();
    showAuth("You signed out in another tab.");
    return;
  }
  const same = shownUser && sameUser(shownUser, current.user);
  if (same) return; // a new token for the same user: requests already read it from storage
  if (shownUser) endSession();
  showApp(current.user);
  toast(`Signed in as ${current.user?.email ?? "another account"} in another tab`);
});

function sameUser(a, b) {
  if (a?.id != null && b?.id != null) return String(a.id) === String(b.id);
  return Boolean(a?.email) && a.email === b?.email;
}

// ---- Connection banner ---------------------------------------------------------------------

let probe = null;

on("connectivity", (online) => {
  if (online) {
    if (!$("connection-banner").hidden) {
      show($("connection-banner"), false);
      toast("Back online");
    }
    clearInterval(probe);
    probe = null;
    return;
  }
  $("connection-message").textContent = "Can't reach the server. Retrying…";
  show($("connection-banner"), true);
  probe ??= setInterval(checkConnection, 5000);
});

async function checkConnection() {
  try {
    const response = await fetch("/api/healthz", { cache: "no-store" });
    if (!response.ok) return;
    show($("connection-banner"), false);
    clearInterval(probe);
    probe = null;
    if (!$("app-view").hidden) tasks.load();
    toast("Back online");
  } catch {
    // still down; the banner stays
  }
}

$("connection-retry").addEventListener("click", checkConnection);

// ---- Phone layout: one pane at a time ------------------------------------------------------

for (const button of document.querySelectorAll(".view-switch-btn")) {
  button.addEventListener("click", () => {
    $("main").dataset.pane = button.dataset.pane;
    for (const other of document.querySelectorAll(".view-switch-btn")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    (button.dataset.pane === "chat" ? $("chat-input") : $("add-title")).focus();
  });
}

// ---- Keyboard ------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
  if (event.key === "/" && !typing && !$("app-view").hidden) {
    event.preventDefault();
    $("search").focus();
  }
});

// ---- Start ---------------------------------------------------------------------------------

async function start() {
  const current = session.get();
  if (!current) return showAuth();
  // Show the app at once from the stored session, then confirm it is still valid.
  showApp(current.user);
  try {
    const me = await api.me();
    const user = me?.user ?? me;
    if (user?.email) {
      session.set(current.token, user);
      $("user-email").textContent = user.email;
    }
  } catch {
    // 401: the unauthorized handler shows sign-in; unreachable: the banner says so.
  }
}

start();
