// The one classic (non-module) script, loaded before the app's modules: if they never run, it
// replaces the splash with a message and a Reload button instead of leaving it up forever. That
// happens during a rolling update, when the page came from a new pod but one of its imports
// reached an old one, which does not have that asset version (a 404, on purpose: a version's
// files must never mix with another's). A reload fetches the page, and with it a consistent
// set of files, again. External, because the CSP allows no inline script; the DOM is built
// with createElement, because Trusted Types forbids HTML strings.
(function () {
  "use strict";

  // Generous for a slow phone; the app hides the splash as soon as its modules have run, and
  // that also hides this message if they turn up after all.
  const TIMEOUT_MS = 10000;
  let failed = false;

  function fail(reason) {
    const boot = document.getElementById("boot");
    if (failed || !boot || boot.hidden) return;
    failed = true;
    const message = document.createElement("p");
    message.className = "boot-error";
    message.setAttribute("role", "alert");
    message.textContent = reason;
    const reload = document.createElement("button");
    reload.type = "button";
    reload.className = "btn btn-primary";
    reload.id = "boot-reload";
    reload.textContent = "Reload";
    reload.addEventListener("click", function () {
      location.reload();
    });
    boot.setAttribute("aria-busy", "false");
    boot.append(message, reload);
    reload.focus();
  }

  // A module that fails to load (its own file or any it imports) fires `error` at its <script>
  // element; the event does not bubble, so listen in the capture phase.
  document.addEventListener(
    "error",
    function (event) {
      const target = event.target;
      if (target instanceof HTMLScriptElement && target.type === "module") {
        fail("The app couldn't load, maybe because a new version is being rolled out. Reload to try again.");
      }
    },
    true,
  );

  setTimeout(function () {
    fail("The app is taking too long to load. Check your connection, then reload.");
  }, TIMEOUT_MS);
})();
