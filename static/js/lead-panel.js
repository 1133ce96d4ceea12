// The lead side panel of the table and the board. Optional: without this file every lead
// link opens the lead's own page.
// - Opening a lead pushes its own URL (/leads/<id>/), so the address can be shared and Back
//   closes the panel; opening another lead while one is open replaces that entry instead, so
//   one Back always returns to the list.
// - The panel takes focus (its heading) when it opens; CSS draws it as a drawer fixed to the
//   viewport (a full-screen sheet on a phone), wherever the person had scrolled to.
// - Escape and the panel's Close button close it and give focus back to the row or card
//   link that opened it; after Back the list is re-read, so it shows any change made in the
//   panel.
// - When a live refresh of the list shows the panel's lead in another status than the panel
//   does, or drops it from a status tab (someone else moved it), the panel is read again.
// - The panel redrawn by one of its own forms (a move, Take it, a follow-up) keeps what was
//   typed in its other forms: a half-written note survives a move, refused or made. Only
//   the form that was sent starts afresh (a note just added leaves an empty box).
(function () {
  "use strict";

  var PANEL = "lead-panel";
  var openerHref = null; // href of the link that opened the panel (rows re-render; ids stay)
  var opening = null; // the panel-opening request on its way (its XMLHttpRequest)
  var panelEntry = false; // the current history entry is the panel's own URL
  var refocus = false; // the list is being re-read after Back: return to the row after it

  function panel() {
    var element = document.getElementById(PANEL);
    // On the lead's own page the same region is the page itself, not a drawer.
    return element && !element.closest(".lead-page") ? element : null;
  }

  function isOpen() {
    var element = panel();
    return Boolean(element && element.children.length);
  }

  function isOpener(element) {
    return element && element.matches && element.matches('a[hx-target="#' + PANEL + '"]');
  }

  function focusOpener() {
    if (!openerHref) return;
    var links = document.querySelectorAll('a[hx-target="#' + PANEL + '"]');
    var link = Array.prototype.find.call(links, function (a) {
      return a.getAttribute("href") === openerHref;
    });
    if (link) link.focus();
  }

  function close() {
    if (!isOpen()) return;
    if (panelEntry) {
      // Back restores the list as it was before the panel opened (htmx:historyRestore below).
      history.back();
      return;
    }
    var element = panel();
    element.replaceChildren();
    focusOpener();
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isOpener(event.detail.elt)) {
      opening = event.detail.xhr;
      openerHref = event.detail.elt.getAttribute("href");
    }
  });

  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    if (!opening) return;
    if (panelEntry && event.detail.history.type === "push") event.detail.history.type = "replace";
    panelEntry = true;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (refocus) {
      refocus = false;
      // The re-read list replaced the focused link: focus its new copy, unless the person
      // has moved on meanwhile.
      if (!document.activeElement || document.activeElement === document.body) focusOpener();
    }
    // Only the panel's own answer: a list re-read settling first must not use up the focus.
    if (!opening || event.detail.xhr !== opening) return;
    opening = null;
    var heading = isOpen() && panel().querySelector("h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  });

  document.addEventListener("htmx:historyRestore", function () {
    var wasPanel = panelEntry;
    panelEntry = isOpen();
    if (!wasPanel || panelEntry) return;
    // The snapshot is the list as it was: return to the row, and read the list again.
    focusOpener();
    refocus = true;
    if (window.htmx) window.htmx.trigger(document.body, "leads-changed");
  });

  var typed = null; // [{action, name, value, focused}] of the panel's other forms, for its redraw
  var KEPT = "textarea, input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit])";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    typed = null;
    if (!target || target.id !== PANEL || !event.detail.shouldSwap) return;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    var sent = elt && (elt.tagName === "FORM" ? elt : elt.form || (elt.closest && elt.closest("form")));
    typed = [];
    typed.scrollTop = target.scrollTop;
    target.querySelectorAll(KEPT).forEach(function (field) {
      if (!field.form || field.form === sent || !field.name) return;
      var focused = field === document.activeElement;
      if (field.value === field.defaultValue && !focused) return;
      typed.push({ action: field.form.getAttribute("action"), name: field.name, value: field.value, focused: focused });
    });
  });

  document.addEventListener("htmx:afterSwap", function () {
    var element = typed ? document.getElementById(PANEL) : null;
    if (element) {
      // Where the person had scrolled the panel to, so a field they type in stays in view.
      element.scrollTop = typed.scrollTop;
      typed.forEach(function (was) {
        // The same form of the same lead (its action names the lead), still as drawn.
        var form = element.querySelector('form[action="' + CSS.escape(was.action) + '"]');
        var field = form && form.querySelector('[name="' + CSS.escape(was.name) + '"]');
        if (field && field.value === field.defaultValue) field.value = was.value;
        if (field && was.focused) field.focus({ preventScroll: true });
      });
    }
    typed = null;
  });

  // After a live refresh (another screen's change), not the person's own: their own move
  // redraws the panel itself, and the list catches up after it. The panel's lead moved when
  // its row (or card) shows another status, or has left a list it was in (a status tab).
  function isLive(config) {
    return Boolean(config && config.headers && config.headers["X-Live-Refresh"]);
  }

  function openLead() {
    var element = isOpen() ? panel() : null; // a closed panel keeps the attributes it had
    return element && element.dataset.lead && element.dataset.url ? element : null;
  }

  function listed(id) {
    return document.getElementById("lead-" + id) || document.getElementById("card-" + id);
  }

  var listedBefore = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var element = openLead();
    listedBefore = Boolean(isLive(event.detail.requestConfig) && element && listed(element.dataset.lead));
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var element = openLead();
    if (!element || !window.htmx || !isLive(event.detail && event.detail.requestConfig)) return;
    var shown = listed(element.dataset.lead);
    if (shown ? shown.dataset.status === element.dataset.status : !listedBefore) return;
    window.htmx.ajax("GET", element.dataset.url, { target: "#" + PANEL, swap: "outerHTML" });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-close-panel]");
    if (!button || !panel()) return;
    event.preventDefault();
    close();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !isOpen()) return;
    // An open <dialog> (the board's "why lost?") takes its own Escape first.
    if (document.querySelector("dialog[open]")) return;
    event.preventDefault();
    close();
  });
})();
