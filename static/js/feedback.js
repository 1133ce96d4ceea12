// Feedback while htmx works, for every page (loaded by base.html). Optional: without it,
// links and forms are plain navigations and the browser shows its own progress.
// - A request marks the region it will replace `aria-busy` and the page `htmx-busy`; CSS
//   shows the bar at the top of the viewport and dims the region only after ~300 ms, so
//   quick answers do not flicker.
// - The button (or the form's buttons) that sent a request is disabled until it answers,
//   so a second click cannot send it twice.
// - Messages (#messages, fixed to the viewport) can be dismissed; a success note leaves by
//   itself after a while, an error or warning stays until dismissed.
// A screen refreshing itself (live updates, X-Live-Refresh) shows none of this.
(function () {
  "use strict";

  var SUCCESS_TOAST_MS = 8000;
  var running = 0;

  function isLive(detail) {
    var headers = detail.requestConfig && detail.requestConfig.headers;
    return Boolean(headers && headers["X-Live-Refresh"]);
  }

  function buttonsOf(elt) {
    if (elt.tagName === "BUTTON") return [elt];
    if (elt.tagName === "FORM") {
      return Array.prototype.slice.call(elt.querySelectorAll("button:not([type=button])"));
    }
    return [];
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var detail = event.detail;
    if (isLive(detail)) return;
    var disabled = buttonsOf(detail.elt).filter(function (button) { return !button.disabled; });
    var focused = disabled.indexOf(document.activeElement) !== -1 ? document.activeElement : null;
    disabled.forEach(function (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    });
    var target = detail.target;
    if (target && target.setAttribute) target.setAttribute("aria-busy", "true");
    detail.requestConfig.feedback = { buttons: disabled, target: target, focused: focused };
    running += 1;
    document.body.classList.add("htmx-busy");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var feedback = event.detail.requestConfig && event.detail.requestConfig.feedback;
    if (!feedback) return;
    feedback.buttons.forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
    // Disabling the focused button sent focus to <body>: give it back if it is still there.
    if (feedback.focused && feedback.focused.isConnected && document.activeElement === document.body) {
      feedback.focused.focus();
    }
    if (feedback.target && feedback.target.removeAttribute) feedback.target.removeAttribute("aria-busy");
    running = Math.max(0, running - 1);
    if (!running) document.body.classList.remove("htmx-busy");
  });

  function armToasts(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".message--success, .message--info"), function (toast) {
      if (toast.dataset.timed || !toast.closest("#messages")) return;
      toast.dataset.timed = "1";
      setTimeout(function () { toast.remove(); }, SUCCESS_TOAST_MS);
    });
  }

  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest && event.target.closest("[data-dismiss-message]");
    if (dismiss && dismiss.parentElement) dismiss.parentElement.remove();
  });
  document.addEventListener("DOMContentLoaded", function () { armToasts(document); });
  document.addEventListener("htmx:afterSettle", function () { armToasts(document); });
})();
