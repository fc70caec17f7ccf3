// Mimamori console: keep keyboard focus where a person can find it when HTMX replaces content,
// and do not pull a half-filled form away from under someone when a live update arrives.
(function () {
  "use strict";
  let pending = false;   // a live refresh waits until the person leaves the form they are filling in
  let refocus = null;    // id of the focused control, to focus again after a live refresh

  function lists() { return document.getElementById("alert-lists"); }

  function fillingInForm() {
    const active = document.activeElement;
    const root = lists();
    if (!active || !root || !root.contains(active)) return false;
    return active.matches("textarea, select, input") || Boolean(active.closest("details[open]"));
  }

  function liveRefresh(detail) {
    return detail.elt === lists() && detail.requestConfig && detail.requestConfig.verb === "get";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (liveRefresh(event.detail) && fillingInForm()) {
      event.preventDefault();
      pending = true;
    }
  });

  document.addEventListener("focusout", function () {
    setTimeout(function () {
      if (pending && !fillingInForm() && window.htmx) {
        pending = false;
        window.htmx.trigger(lists(), "sse:alert");
      }
    }, 0);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (liveRefresh(event.detail) && fillingInForm()) {
      // The person opened a form while the refresh was on its way: keep their form, refresh later.
      event.detail.shouldSwap = false;
      pending = true;
      return;
    }
    const active = document.activeElement;
    const root = lists();
    refocus = liveRefresh(event.detail) && root && active && active.id && root.contains(active) ? active.id : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    const verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    if (verb === "post") {
      // After acknowledging or resolving, the control pressed is gone: move focus to the message
      // that says what happened (it is also announced: role=status).
      const flash = document.getElementById("flash");
      if (flash) flash.focus();
    } else if (refocus) {
      // A live refresh replaced the list: the same control (same id) gets focus back, if it is
      // still there; otherwise the list's heading keeps the person in place.
      const again = document.getElementById(refocus) || document.getElementById("open-heading");
      refocus = null;
      if (again) again.focus();
    }
  });
})();
