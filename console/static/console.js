// Mimamori console: keep keyboard focus where a person can find it after HTMX replaces content,
// and do not pull a half-filled form away from under someone when a live update arrives.
(function () {
  "use strict";
  let pending = false;

  function typingInLists() {
    const active = document.activeElement;
    const lists = document.getElementById("alert-lists");
    if (!active || !lists || !lists.contains(active)) return false;
    return active.matches("textarea, select, input") || Boolean(active.closest("details[open]"));
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    // A live refresh (GET of the lists) waits while the person is filling in a resolve form.
    const target = event.detail.elt;
    if (target && target.id === "alert-lists" && event.detail.requestConfig.verb === "get" && typingInLists()) {
      event.preventDefault();
      pending = true;
    }
  });

  document.addEventListener("focusout", function () {
    setTimeout(function () {
      if (pending && !typingInLists() && window.htmx) {
        pending = false;
        window.htmx.trigger("#alert-lists", "sse:alert");
      }
    }, 0);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // After acknowledging or resolving, the button pressed is gone: move focus to the message
    // that says what happened (it is also announced: role=status).
    const verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    if (verb === "post") {
      const flash = document.getElementById("flash");
      if (flash) flash.focus();
    }
  });
})();
