// The office wall: keeps itself up to date, forever, without anyone touching it.
// - polls the link's events with its ticket, which lets the server answer from memory
//   (leads/live_lane.py) and is renewed through X-Live-Ticket; each poll asks to be held
//   open while nothing changes (data-hold-seconds), so an idle wall asks about every twenty
//   seconds, and again a second later (data-poll-ms) when the server answers at once;
//   fetches a new picture when something changed (and every 30 s anyway, since "waiting"
//   and ages move with the clock alone)
// - on any failure keeps the last good picture, says "Stale since HH:MM" after 10 s without
//   an answer (a held poll still within its time counts as one), and retries with backoff
//   (at most 8 s apart) until the server is back
// - blanks the screen only when the server says the link is revoked or unknown (a JSON body
//   with "revoked"/"unknown": never because of a proxy's error page)
// - rotates between the board and the numbers when the link asks for it
// It never navigates, so it can never land on a login or an error page.
(function () {
  "use strict";

  var body = document.body;
  var eventsUrl = body.dataset.eventsUrl;
  var snapshotUrl = body.dataset.snapshotUrl;
  if (!eventsUrl || !snapshotUrl) return;

  var POLL_MS = parseInt(body.dataset.pollMs || "", 10) || 1000;
  // The server holds a poll up to this long while nothing changes (0: it answers at once).
  var HOLD_MS = (parseInt(body.dataset.holdSeconds || "", 10) || 0) * 1000;
  // A held poll answers within HOLD_MS; this much later it is taken as lost.
  var HOLD_MARGIN_MS = 2000;
  var MAX_BACKOFF_MS = 8000;
  var STALE_AFTER_MS = 10000;
  var REFRESH_EVERY_MS = 30000;
  var REQUEST_TIMEOUT_MS = 8000;

  var last = body.dataset.last || "";
  var seen = body.dataset.seen || "";
  var ticket = body.dataset.ticket || "";
  var lastOk = Date.now();
  var lastPicture = Date.now();
  var failures = 0;
  var pictureWanted = false;
  var heldSince = null;  // when the poll now waiting on the server was sent, if held
  var stopped = false;
  var statusEl = document.getElementById("wall-status");
  var clockEl = document.getElementById("wall-clock");
  var content = document.getElementById("wall-content");

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function hhmmss(d) { return hhmm(d) + ":" + pad(d.getSeconds()); }

  function withTimeout(url, heldMs) {
    // AbortController keeps a hung connection (a half-open socket after a restart) from
    // stalling the loop: every request ends within REQUEST_TIMEOUT_MS (plus the time it
    // asked to be held) one way or another.
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS + (heldMs || 0));
    return fetch(url, {
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
      signal: controller.signal,
      headers: { "Accept": "application/json, text/html" }
    }).finally(function () { clearTimeout(timer); });
  }

  function isGoneAnswer(response) {
    if (response.status !== 410 && response.status !== 404) return Promise.resolve(false);
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === -1) return Promise.resolve(false);
    return response.json().then(function (data) {
      return !!(data && (data.revoked || data.unknown));
    }, function () { return false; });
  }

  function blank(message) {
    stopped = true;
    var live = document.getElementById("wall-live");
    if (live) live.remove();  // nothing of the old picture stays on the screen
    var gone = document.getElementById("wall-revoked");
    if (gone) {
      if (message) gone.querySelector("p").textContent = message;
      gone.hidden = false;
    }
  }

  function isWaitingOnHeldPoll(now) {
    return heldSince !== null && now - heldSince < HOLD_MS + HOLD_MARGIN_MS;
  }

  function showStatus() {
    if (!statusEl || stopped) return;
    var now = Date.now();
    if (now - lastOk > STALE_AFTER_MS && !isWaitingOnHeldPoll(now)) {
      body.classList.add("wall--stale");
      statusEl.textContent = "Stale since " + hhmm(new Date(lastOk)) + " · reconnecting…";
    } else {
      body.classList.remove("wall--stale");
      statusEl.textContent = "Updated " + hhmmss(new Date(lastOk));
    }
    if (clockEl) clockEl.textContent = hhmm(new Date(now));
  }

  function succeeded() {
    lastOk = Date.now();
    failures = 0;
    showStatus();
  }

  function schedule() {
    if (stopped) return;
    var delay = failures ? Math.min(POLL_MS * Math.pow(2, failures - 1), MAX_BACKOFF_MS) : POLL_MS;
    setTimeout(poll, delay);
  }

  function fetchPicture() {
    return withTimeout(snapshotUrl).then(function (response) {
      return isGoneAnswer(response).then(function (gone) {
        if (gone) { blank(); return; }
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || response.headers.get("X-Wall-Snapshot") !== "1" ||
            type.indexOf("text/html") === -1) {
          pictureWanted = true;  // keep the last good picture; try again next round
          return;
        }
        return response.text().then(function (html) {
          swapPicture(html);
          pictureWanted = false;
          lastPicture = Date.now();
        });
      });
    }, function () { pictureWanted = true; });
  }

  function swapPicture(html) {
    var incoming = document.createElement("div");
    // The server escaped every user-written value; the CSP keeps any script inert anyway.
    incoming.innerHTML = html;
    // Replace region by region, and only what changed, so the ticker keeps scrolling when
    // nothing new arrived.
    var current = content.children;
    var fresh = incoming.children;
    if (current.length !== fresh.length) {
      content.replaceChildren.apply(content, Array.prototype.slice.call(fresh));
      startTicker();
      return;
    }
    for (var i = fresh.length - 1; i >= 0; i--) {
      var old = current[i];
      var neu = fresh[i];
      var oldTrack = old.querySelector("[data-ticker]");
      var oldText = oldTrack ? oldTrack.dataset.original : old.innerHTML;
      var newText = neu.querySelector("[data-ticker]") ? neu.querySelector("[data-ticker]").innerHTML : neu.innerHTML;
      if (oldText !== newText || old.className !== neu.className) content.replaceChild(neu, old);
    }
    startTicker();
  }

  function startTicker() {
    var track = content.querySelector("[data-ticker]");
    if (!track || track.dataset.original !== undefined) return;
    track.dataset.original = track.innerHTML;
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var box = track.parentElement;
    if (reduce || !box || track.scrollWidth <= box.clientWidth) return;
    // A second copy makes the loop seamless; it is hidden from assistive technology.
    Array.prototype.slice.call(track.children).forEach(function (item) {
      var copy = item.cloneNode(true);
      copy.setAttribute("aria-hidden", "true");
      track.appendChild(copy);
    });
    // Same reading speed on 1080p and 4K: duration follows the width in screen widths.
    var seconds = Math.max(20, Math.round((track.scrollWidth / 2) / box.clientWidth * 18));
    track.style.animationDuration = seconds + "s";
    track.classList.add("wall-ticker__track--moving");
  }

  function poll() {
    if (stopped) return;
    var url = eventsUrl + "?after=" + encodeURIComponent(last) + "&seen=" + encodeURIComponent(seen) +
      "&ticket=" + encodeURIComponent(ticket);
    // Only a wall that has just heard from the server waits on it: one that is recovering
    // asks at once, so it says "Stale" and comes back on time.
    var hold = HOLD_MS && !failures ? HOLD_MS : 0;
    if (hold) url += "&wait=" + hold / 1000;
    heldSince = hold ? Date.now() : null;
    withTimeout(url, hold).then(function (response) {
      heldSince = null;
      ticket = response.headers.get("X-Live-Ticket") || ticket;
      return isGoneAnswer(response).then(function (gone) {
        if (gone) { blank(); return; }
        if (response.status === 204) return afterAnswer(false);
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json().then(function (data) {
          var changed = String(data.last) !== last || String(data.seen) !== seen;
          last = String(data.last);
          seen = String(data.seen);
          return afterAnswer(changed);
        });
      });
    }).catch(function () {
      heldSince = null;
      failures += 1;
      showStatus();
    }).finally(schedule);
  }

  function afterAnswer(changed) {
    var recovering = failures > 0 || Date.now() - lastOk > STALE_AFTER_MS;
    succeeded();
    if (changed || recovering || pictureWanted || Date.now() - lastPicture > REFRESH_EVERY_MS) {
      return fetchPicture();
    }
  }

  function rotate() {
    var seconds = parseInt(body.dataset.rotateSeconds || "0", 10);
    if (!seconds) return;
    setInterval(function () {
      if (stopped) return;
      var board = body.classList.toggle("wall--show-board");
      body.classList.toggle("wall--show-numbers", !board);
    }, seconds * 1000);
  }

  setInterval(showStatus, 1000);
  showStatus();
  startTicker();
  rotate();
  schedule();
})();
