// Live updates for signed-in screens (loaded by base.html on every page).
//
// Polls /live/events with the page's token and ticket: the ticket lets the server answer from
// memory without reading the session (leads/live_lane.py); when it lapses the server checks
// the session and sends a new one in X-Live-Ticket. Each poll asks to be held open while
// nothing changes (data-hold-seconds), so an idle screen asks about every twenty seconds; a
// server that does not hold it is asked again a second later (data-poll-ms). When the token
// moves, it dispatches `leads-changed` on <body> after a random pause of up to
// data-spread-ms (so a hundred screens do not re-read at the same instant); regions carry
//   hx-trigger="leads-changed from:body"
// and re-fetch themselves. The status line in the header says "Updated HH:MM:SS", or
// "Reconnecting…" while the server does not answer (retrying with jittered backoff, then
// catching up by itself), or "Signed out" when the session has ended. A region whose
// refresh failed (the poll answered, the page did not) is not up to date either: the line
// says since when the screen is behind, and the refresh is retried with the same backoff.
//
// While a region refreshes, what the person was doing in it survives the swap: ticked
// checkboxes, typed text, chosen options and focus are put back (matched by name and value;
// a focused link by where it goes).
//
// It also lets htmx show refusals: a 4xx answer that names its own target (HX-Retarget,
// e.g. the #messages region of a 403) is swapped there instead of being dropped.
(function () {
  "use strict";

  var POLL_MS = 1000;  // replaced by the page's data-poll-ms below
  var HIDDEN_POLL_MS = 15000;
  var MAX_BACKOFF_MS = 15000;
  var REQUEST_TIMEOUT_MS = 8000;
  var LIVE_EVENT = "leads-changed";

  // --- Refusals that name their target ---------------------------------------------------
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // --- Keeping a region's form state across a live refresh ---------------------------------
  var saved = null;

  function controlKey(el) {
    if (el.id) return "#" + el.id;
    // A link (a row's contact, its WhatsApp number): by where it goes.
    if (el.tagName === "A" && el.getAttribute("href")) return "a@" + el.getAttribute("href");
    if (!el.name) return null;
    if (el.type === "checkbox" || el.type === "radio") return el.name + "=" + el.value;
    return el.name;
  }

  function isLiveRequest(detail) {
    var trigger = detail && (detail.triggeringEvent || (detail.requestConfig && detail.requestConfig.triggeringEvent));
    return !!(trigger && trigger.type === LIVE_EVENT);
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (!isLiveRequest(event.detail)) return;
    // Tells the server this is the screen refreshing itself, not the person acting, so it
    // does not extend the session's idle time (see leads/live.py).
    event.detail.headers["X-Live-Refresh"] = "1";
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isLiveRequest(event.detail.requestConfig)) return;
    var target = event.detail.target;
    if (!target) return;
    var state = {};
    Array.prototype.forEach.call(target.querySelectorAll("input, select, textarea"), function (el) {
      var key = controlKey(el);
      if (!key || el.type === "hidden") return;
      if (el.type === "checkbox" || el.type === "radio") state[key] = { checked: el.checked };
      else state[key] = { value: el.value };
    });
    var active = document.activeElement;
    saved = {
      state: state,
      focused: active,
      focus: active && target.contains(active) ? controlKey(active) : null,
      scrollX: window.scrollX,
      scrollY: window.scrollY
    };
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!saved || !isLiveRequest(event.detail.requestConfig)) return;
    var state = saved.state;
    var root = event.detail.target && event.detail.target.isConnected ? event.detail.target : document;
    var scope = document;
    var changedForms = [];
    Object.keys(state).forEach(function (key) {
      var el = null;
      if (key.charAt(0) === "#") el = document.getElementById(key.slice(1));
      else {
        var parts = key.split("=");
        var selector = parts.length === 2
          ? 'input[name="' + CSS.escape(parts[0]) + '"][value="' + CSS.escape(parts[1]) + '"]'
          : '[name="' + CSS.escape(key) + '"]';
        el = scope.querySelector(selector);
      }
      if (!el || el.type === "hidden") return;
      var was = state[key];
      if ("checked" in was && el.checked !== was.checked) {
        el.checked = was.checked;
        if (el.form && changedForms.indexOf(el.form) === -1) changedForms.push(el.form);
      } else if ("value" in was && el.value !== was.value) {
        if (el.tagName === "SELECT" && !el.querySelector('option[value="' + CSS.escape(was.value) + '"]')) return;
        el.value = was.value;
      }
    });
    // Focus goes back to the same control, or link, when the swap replaced it.
    if (saved.focus && document.activeElement !== saved.focused) {
      var focusEl = saved.focus.charAt(0) === "#"
        ? document.getElementById(saved.focus.slice(1))
        : null;
      if (saved.focus.indexOf("a@") === 0) {
        focusEl = root.querySelector('a[href="' + CSS.escape(saved.focus.slice(2)) + '"]');
      } else if (!focusEl) {
        var p = saved.focus.split("=");
        focusEl = p.length === 2
          ? document.querySelector('input[name="' + CSS.escape(p[0]) + '"][value="' + CSS.escape(p[1]) + '"]')
          : document.querySelector('[name="' + CSS.escape(saved.focus) + '"]');
      }
      if (focusEl && root.contains(focusEl)) focusEl.focus({ preventScroll: true });
    }
    window.scrollTo(saved.scrollX, saved.scrollY);
    saved = null;
    // Let page scripts (the bulk menu, "select all") recompute from the restored ticks.
    changedForms.forEach(function (form) {
      form.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });

  // --- Pacing (pure functions; window.leadsLivePacing lets tests drive them) ---------------
  var pacing = {
    // The wait before retry number `failures` (1, 2, …): doubling up to `maxMs`, each a random
    // point in the upper half, so screens that lost the server together come back spread out.
    retryDelay: function (failures, baseMs, maxMs, random) {
      var ceiling = Math.min(baseMs * Math.pow(2, failures - 1), maxMs);
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
    // After an answer, the next poll starts `pollMs` after the last one started: at once
    // after a poll the server held, a second apart when it answered straight away.
    nextPoll: function (startedAt, now, pollMs) {
      return Math.max(0, pollMs - (now - startedAt));
    },
    // How long a screen waits before re-reading after a change: a random part of `spreadMs`,
    // so a hundred screens do not ask at the same instant (the first one's answer is shared).
    refreshDelay: function (spreadMs, random) {
      return Math.round(random() * spreadMs);
    }
  };
  window.leadsLivePacing = pacing;

  // --- Polling ------------------------------------------------------------------------------
  var statusEl = document.getElementById("live-status");
  if (!statusEl || !statusEl.dataset.url) return;
  statusEl.hidden = false; // the page is live only now that this script runs
  var url = statusEl.dataset.url;
  POLL_MS = parseInt(statusEl.dataset.pollMs || "", 10) || POLL_MS;
  // The server holds a poll up to this long while nothing changes (0: it answers at once).
  var HOLD_SECONDS = parseInt(statusEl.dataset.holdSeconds || "", 10) || 0;
  var REFRESH_SPREAD_MS = parseInt(statusEl.dataset.spreadMs || "", 10) || 0;
  var ticket = statusEl.dataset.ticket || "";
  var last = statusEl.dataset.last || "";
  var seen = statusEl.dataset.seen || "";
  var failures = 0;
  var signedOut = false;
  var timer = null;
  var refreshTimer = null;
  var inFlight = false;
  // Regions (by id) whose last live refresh failed, how many times in a row, and when the
  // screen was last known to show the latest data (a poll that found nothing new).
  var behind = {};
  var refreshFailures = 0;
  var retryTimer = null;
  var currentAt = new Date();

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }

  function show(state, text) {
    statusEl.dataset.state = state;
    var label = statusEl.querySelector("[data-live-text]") || statusEl;
    label.textContent = text;
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function nextDelay(startedAt) {
    if (failures) return pacing.retryDelay(failures, POLL_MS, MAX_BACKOFF_MS, Math.random);
    if (document.hidden) return HIDDEN_POLL_MS;
    return pacing.nextPoll(startedAt, Date.now(), POLL_MS);
  }

  function refresh() {
    // One pending refresh at most: changes that arrive while it waits are read by it.
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      document.body.dispatchEvent(new CustomEvent(LIVE_EVENT, { bubbles: true }));
    }, pacing.refreshDelay(REFRESH_SPREAD_MS, Math.random));
  }

  function isBehind() { return Object.keys(behind).length > 0; }

  function ok(changed) {
    var recovered = failures > 0;
    failures = 0;
    if (!changed && !isBehind()) currentAt = new Date();
    if (isBehind()) show("behind", "Not updated since " + clock(currentAt) + ", retrying…");
    else show("ok", "Updated " + clock(new Date()));
    // After an outage, re-read even if the token looks the same: the regions may have
    // failed to refresh while the server was away.
    if (changed || recovered) refresh();
  }

  // A live refresh that failed leaves its region as it was: say so, and try again.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!isLiveRequest(event.detail.requestConfig)) return;
    var target = event.detail.target;
    var key = (target && target.id) || "page";
    if (event.detail.successful) {
      if (!behind[key]) return;
      delete behind[key];
      if (isBehind()) return;
      refreshFailures = 0;
      clearTimeout(retryTimer);
      if (!failures && !signedOut) ok(false);
      return;
    }
    behind[key] = true;
    refreshFailures += 1;
    if (!failures && !signedOut) ok(false);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(refresh, pacing.retryDelay(refreshFailures, POLL_MS, MAX_BACKOFF_MS, Math.random));
  });

  function poll() {
    // A poll already on its way (the tab came back to the front meanwhile) is enough.
    if (signedOut || inFlight) return;
    inFlight = true;
    var startedAt = Date.now();
    var controller = new AbortController();
    // A held poll answers within HOLD_SECONDS; past that plus the usual margin it is lost.
    var abort = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS + HOLD_SECONDS * 1000);
    var query = "?after=" + encodeURIComponent(last) + "&seen=" + encodeURIComponent(seen) +
      "&ticket=" + encodeURIComponent(ticket) + (HOLD_SECONDS && !document.hidden ? "&wait=" + HOLD_SECONDS : "");
    fetch(url + query, {
      cache: "no-store",
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      signal: controller.signal
    }).then(function (response) {
      ticket = response.headers.get("X-Live-Ticket") || ticket;
      if (response.status === 204) return ok(false);
      if (response.status === 401 || response.status === 403) {
        signedOut = true;
        show("signed-out", "Signed out");
        var link = statusEl.querySelector("[data-live-signin]");
        if (link) link.hidden = false;
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json().then(function (data) {
        var changed = String(data.last) !== last || String(data.seen) !== seen;
        last = String(data.last);
        seen = String(data.seen);
        ok(changed);
      });
    }).catch(function () {
      failures += 1;
      show("reconnecting", "Reconnecting…");
    }).finally(function () {
      clearTimeout(abort);
      inFlight = false;
      if (!signedOut) schedule(nextDelay(startedAt));
    });
  }

  document.addEventListener("visibilitychange", function () {
    // A tab coming back to the front catches up at once instead of after its slow poll.
    if (!document.hidden && !signedOut) schedule(0);
  });

  schedule(POLL_MS);
})();
