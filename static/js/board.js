// Drag-and-drop for the pipeline board: an extra on top of the card buttons, which work alone.
// - While a card is dragged, the columns it may enter (its data-allowed, rendered from the
//   pipeline table) are marked and the others are disabled: they refuse the drop. This script
//   never spells out a transition; refusal sentences come from the server (#board-refusals).
// - A drop posts to the same endpoint as the buttons, with the card form's CSRF token and the
//   status the screen showed. The server answers with the columns as they really are, so the
//   card settles only where the server put it (a stale or refused move lands it in its true
//   column, with the reason in #messages). A request that fails puts the card back and says why.
// - A drop on a column whose move asks why (Lost) opens a small dialog first.
// - Live refreshes wait while a card is dragged, a move is in flight or a reason is being typed.
//   An open card menu does not hold them back: it stays open, with focus, through a redraw.
// - After a move, focus goes to the moved card, wherever it landed.
(function () {
  "use strict";

  var drag = null; // {card, from, allowed, over}
  var pending = null; // {card, home, next, form}
  var asking = false;
  var refreshWanted = false;
  var focusLead = null;

  function grid() { return document.querySelector(".board-grid"); }
  function allowedOf(card) { return (card.dataset.allowed || "").split(" ").filter(Boolean); }
  function columnOf(node) { return node && node.closest ? node.closest(".board-column") : null; }

  // The toast region announces it; with a card, the words also sit on that card, where the
  // person is looking (hidden from screen readers, which already heard the toast).
  function say(text, kind, card) {
    var box = document.getElementById("messages");
    if (box) {
      var line = document.createElement("p");
      line.className = "message message--" + kind;
      line.textContent = text;
      box.replaceChildren(line);
    }
    document.querySelectorAll(".card__note").forEach(function (note) { note.remove(); });
    if (!card) return;
    var note = document.createElement("p");
    note.className = "card__note message--" + kind;
    note.setAttribute("aria-hidden", "true");
    note.textContent = text;
    card.appendChild(note);
    // The card is no longer as it was drawn: the next live redraw of its column draws it anew.
    card.removeAttribute("data-v");
  }
  function cardOf(leadId) { return document.getElementById("card-" + leadId); }
  // A move the server refused: the columns are redrawn first, then the card gets the words.
  var refusedNote = null;
  document.addEventListener("lead-move-refused", function (event) {
    refusedNote = event.detail;
  });

  function refusal(from, to) {
    var data = document.getElementById("board-refusals");
    var sentences = data ? JSON.parse(data.textContent) : {};
    return "Not moved: " + (sentences[from + ">" + to] || from + " cannot move to " + to) + ".";
  }

  // Why a card with no allowed move cannot go anywhere ("converted is final"), in the
  // server's words: any refused move out of its status says it.
  function finalRefusal(from) {
    var data = document.getElementById("board-refusals");
    var sentences = data ? JSON.parse(data.textContent) : {};
    var key = Object.keys(sentences).find(function (k) {
      return k.indexOf(from + ">") === 0 && k !== from + ">" + from;
    });
    return "Not moved: " + (key ? sentences[key] : from + " is final") + ".";
  }

  // --- live refreshes wait for the user ------------------------------------------------------

  function busy() {
    return Boolean(drag || pending || asking);
  }

  function openMenu() {
    return document.querySelector("#board-columns details[data-card-menu][open]");
  }

  function refreshNow() {
    var trigger = document.querySelector("[data-board-refresh]");
    if (trigger && window.htmx) window.htmx.trigger(trigger, "board-refresh");
  }

  function flushRefresh() {
    if (refreshWanted && !busy()) {
      refreshWanted = false;
      refreshNow();
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-board-refresh") && busy()) {
      event.preventDefault();
      refreshWanted = true;
      return;
    }
    // A card button (keyboard or mouse): follow that card with the focus once it lands.
    var card = elt && elt.closest ? elt.closest(".card") : null;
    if (card && elt.matches("[data-move-form]")) focusLead = card.dataset.lead;
  });

  // A "Lost…" step closed without moving: catch up on refreshes that waited for it.
  document.addEventListener("toggle", function () { flushRefresh(); }, true);

  // --- card menus ------------------------------------------------------------------------------
  // A card's Move and Follow-up forms are not on the card: #card-menus holds them once, inert
  // (<template>), drawn for a stand-in lead. A board of a hundred cards redrawn on every change
  // cost each screen ~275 ms of CPU with their forms live; carrying a copy each (in templates)
  // they were 60% of the board's bytes. A menu gets its copy, with the card's id in the
  // stand-in's place, when it opens, or when a drop needs the card's form.

  var LEAD_ATTRIBUTES = ["action", "hx-post", "id", "for"];

  function menuFor(details, card) {
    var menus = document.getElementById("card-menus");
    if (!menus) return null;
    var kind = details.dataset.cardMenu;
    var selector = 'template[data-card-menu="' + kind + '"]' +
      (kind === "move" ? '[data-status="' + card.dataset.status + '"]' : "");
    var template = menus.querySelector(selector);
    if (!template) return null;
    var copy = document.importNode(template.content, true);
    var standIn = menus.dataset.standIn;
    copy.querySelectorAll("*").forEach(function (node) {
      LEAD_ATTRIBUTES.forEach(function (name) {
        var value = node.getAttribute(name);
        if (value && value.indexOf(standIn) !== -1) {
          node.setAttribute(name, value.split(standIn).join(card.dataset.lead));
        }
      });
    });
    return copy;
  }

  function materialize(details) {
    var fallback = details.querySelector(":scope > [data-menu-fallback]");
    var card = details.closest(".card");
    if (!fallback || !card) return; // already real
    var copy = menuFor(details, card);
    if (!copy) return; // no menu to copy: the link to the lead's page stays
    fallback.replaceWith(copy);
    if (window.htmx) window.htmx.process(details);
  }

  function openMenus(card) {
    card.querySelectorAll("details[data-card-menu]").forEach(materialize);
  }

  function openingMenu(details) {
    if (details && details.matches("details[data-card-menu]")) materialize(details);
  }

  // On the summary's click (Enter and Space click it too), before the menu shows: a Tab
  // pressed at once then lands on its first button. A menu opened otherwise: on its toggle.
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("details > summary");
    if (summary) openingMenu(summary.parentNode);
  }, true);

  document.addEventListener("toggle", function (event) {
    if (event.target.open) openingMenu(event.target);
  }, true);

  // --- live redraws: only what changed ------------------------------------------------------
  // After a change every open board re-reads its columns (about 130 KB at 100 cards), and on
  // a wall of TVs a hundred screens do it at once on the same CPUs. A move changes one or two
  // of the five columns and, in each, one card: a column whose markup arrives as it was last
  // drawn is left alone, and in a column that changed, a card whose markup is the same keeps
  // its element (not parsed, laid out or painted again); only the new or changed cards, the
  // heading and the column's attributes are drawn. Redrawing whole columns cost a screen
  // ~85 ms of CPU per move, most of it laying out forty cards nobody moved. What surrounds
  // the columns (counts, the board's state, the menus) is small and is always redrawn.
  // Anything unexpected (other columns, out-of-band parts) leaves the whole region to htmx.

  var COLUMN = /<section class="board-column[^"]*" id="(column-[a-z]+)"[\s\S]*?<\/section>/g;
  // A column's list items: its cards and its "Show more" line (neither holds another <li>).
  var ITEM = /<li class="(?:card|load-more)\b[^"]*" id="([^"]+)"[\s\S]*?<\/li>/g;
  // An element drawn here -> the markup it was drawn from: columns and "Show more" lines are
  // compared by it, cards by their data-v.
  var drawnFrom = new WeakMap();
  // A card's data-v: a hash of its markup, from the server (leads/templatetags/board_ui.py), so
  // a card drawn by the page load or a whole swap is known unchanged without its markup.
  var VERSION = /^<li\b[^>]*\sdata-v="([^"]+)"/;

  function unchanged(element, markup) {
    var version = VERSION.exec(markup);
    return version ? element.getAttribute("data-v") === version[1] : drawnFrom.get(element) === markup;
  }

  function columnsIn(html) {
    var columns = [];
    html.replace(COLUMN, function (markup, id) { columns.push({ id: id, markup: markup }); });
    return columns;
  }

  function parsed(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function drawn(markup) {
    var element = parsed(markup).firstElementChild;
    drawnFrom.set(element, markup);
    if (window.htmx) window.htmx.process(element);
    return element;
  }

  function copyAttributes(from, to) {
    Array.prototype.slice.call(to.attributes).forEach(function (attribute) {
      if (!from.hasAttribute(attribute.name)) to.removeAttribute(attribute.name);
    });
    Array.prototype.forEach.call(from.attributes, function (attribute) {
      if (to.getAttribute(attribute.name) !== attribute.value) to.setAttribute(attribute.name, attribute.value);
    });
  }

  // Redraws a column that changed in place; false when its markup is not the expected shape
  // (e.g. "No new leads", an item without an id): the caller then replaces the whole column.
  function redrawColumn(section, markup) {
    var list = section.querySelector(":scope > ol.cards");
    var listAt = markup.indexOf('<ol class="cards"');
    var listEnd = markup.lastIndexOf("</ol>");
    if (!list || listAt === -1 || listEnd < listAt) return false;
    var listOpen = markup.indexOf(">", listAt) + 1;
    var items = [];
    var rest = markup.slice(listOpen, listEnd).replace(ITEM, function (item, id) {
      items.push({ id: id, markup: item });
      return "";
    });
    if (rest.trim()) return false;
    // The column without its items: its attributes, heading and count.
    var shell = parsed(markup.slice(0, listOpen) + markup.slice(listEnd)).firstElementChild;
    var shellList = shell && shell.querySelector(":scope > ol.cards");
    if (!shellList) return false;
    copyAttributes(shell, section);
    copyAttributes(shellList, list);
    Array.prototype.slice.call(section.children).forEach(function (child) {
      if (child !== list) child.remove();
    });
    var beforeList = true;
    Array.prototype.slice.call(shell.children).forEach(function (child) {
      if (child === shellList) { beforeList = false; return; }
      section.insertBefore(child, beforeList ? list : null);
      if (window.htmx) window.htmx.process(child);
    });
    var shown = {};
    Array.prototype.forEach.call(list.children, function (item) { if (item.id) shown[item.id] = item; });
    var wanted = items.map(function (item) {
      var element = shown[item.id];
      if (element && unchanged(element, item.markup)) return element;
      var fresh = drawn(item.markup);
      if (element) keepMenus(element, fresh);
      return fresh;
    });
    // What stays keeps its place: drop the rest first, then put each wanted item in order.
    var keep = new Set(wanted);
    Array.prototype.slice.call(list.children).forEach(function (item) {
      if (!keep.has(item)) item.remove();
    });
    wanted.forEach(function (element, index) {
      if (list.children[index] !== element) list.insertBefore(element, list.children[index] || null);
    });
    drawnFrom.set(section, markup);
    return true;
  }

  // A card drawn again where it was (its age, owner or follow-up changed) keeps the menus the
  // person has open or is in: the menu's element moves into the new card, with anything
  // typed in it. (A card that moved column gets its new column's menus, closed.)
  function keepMenus(from, to) {
    var focused = document.activeElement;
    from.querySelectorAll("details[data-card-menu]").forEach(function (details) {
      if (!details.open && !details.contains(focused)) return;
      var twin = to.querySelector('details[data-card-menu="' + details.dataset.cardMenu + '"]');
      if (twin) twin.replaceWith(details);
    });
  }

  // Focus that was on a card goes back to where the person was: the same element when it was
  // kept or carried over (moving an element drops its focus), else the same control of the
  // lead's card wherever it is now, else that card's name.
  function refocus(focused) {
    if (document.activeElement === focused) return;
    if (focused.isConnected) return focused.focus();
    var card = cardOf(focused.closest(".card").dataset.lead);
    if (!card) return;
    var menu = focused.closest("details[data-card-menu]");
    var same = (focused.id && document.getElementById(focused.id)) ||
      (menu && card.querySelector('details[data-card-menu="' + menu.dataset.cardMenu + '"] > summary'));
    (same || card.querySelector(".card__name a")).focus();
  }

  function redrawChangedColumns(region, html) {
    var gridAt = html.indexOf('<div class="board-grid"');
    var grid = region.querySelector(":scope > .board-grid");
    if (gridAt === -1 || !grid || html.indexOf("hx-swap-oob") !== -1) return false;
    var columns = columnsIn(html);
    var shown = grid.querySelectorAll(":scope > section.board-column");
    if (!columns.length || columns.length !== shown.length) return false;
    for (var i = 0; i < shown.length; i++) if (shown[i].id !== columns[i].id) return false;
    var around = parsed(html.slice(0, gridAt) + "</div>").getElementById("board-columns");
    if (!around) return false;
    while (grid.previousSibling) grid.previousSibling.remove();
    Array.prototype.slice.call(around.childNodes).forEach(function (node) {
      region.insertBefore(node, grid);
      if (node.nodeType === 1 && window.htmx) window.htmx.process(node);
    });
    var focused = document.activeElement;
    var onCard = focused && focused.closest && region.contains(focused) && focused.closest(".card");
    columns.forEach(function (column, index) {
      if (drawnFrom.get(shown[index]) === column.markup) return;
      if (!redrawColumn(shown[index], column.markup)) shown[index].replaceWith(drawn(column.markup));
    });
    if (onCard) refocus(focused);
    return true;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var elt = detail.requestConfig && detail.requestConfig.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-board-refresh")) return;
    var region = document.getElementById("board-columns");
    if (!detail.shouldSwap || detail.isError || !region) return;
    if (!redrawChangedColumns(region, detail.serverResponse)) {
      // Only a card-level redraw keeps an open menu: a whole one waits until it closes.
      if (openMenu()) {
        detail.shouldSwap = false;
        refreshWanted = true;
      }
      return;
    }
    detail.shouldSwap = false;
    // Announced as htmx's own swap would be: live.js puts back what the person was doing,
    // and the settle handler below re-enables dragging and follows the focus.
    var announced = { target: region, elt: elt, requestConfig: detail.requestConfig, xhr: detail.xhr };
    region.dispatchEvent(new CustomEvent("htmx:afterSwap", { bubbles: true, detail: announced }));
    region.dispatchEvent(new CustomEvent("htmx:afterSettle", { bubbles: true, detail: announced }));
  });

  // --- dragging ------------------------------------------------------------------------------

  function enhance() {
    document.querySelectorAll(".card[data-allowed]").forEach(function (card) {
      // A final card (data-final: converted) is draggable only to say at once that it is final.
      if (allowedOf(card).length || card.hasAttribute("data-final")) card.setAttribute("draggable", "true");
    });
  }

  function endDrag() {
    var board = grid();
    if (board) board.classList.remove("board--dragging");
    document.querySelectorAll(".board-column").forEach(function (column) {
      column.classList.remove("board-column--allowed", "board-column--forbidden", "board-column--over");
      column.removeAttribute("aria-disabled");
    });
    if (drag) drag.card.classList.remove("card--dragging");
    drag = null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".card[draggable=true]") : null;
    if (!card || pending) return;
    if (!allowedOf(card).length) {
      event.preventDefault();
      say(finalRefusal(card.dataset.status), "error", card);
      return;
    }
    drag = { card: card, from: card.dataset.status, allowed: allowedOf(card), over: null };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.lead);
    card.classList.add("card--dragging");
    grid().classList.add("board--dragging");
    document.querySelectorAll(".board-column").forEach(function (column) {
      var status = column.dataset.status;
      if (drag.allowed.indexOf(status) >= 0) {
        column.classList.add("board-column--allowed");
      } else if (status !== drag.from) {
        column.classList.add("board-column--forbidden");
        column.setAttribute("aria-disabled", "true");
      }
    });
  });

  function mayEnter(column) {
    return Boolean(drag && column && drag.allowed.indexOf(column.dataset.status) >= 0);
  }

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (drag) drag.over = column;
    // Not calling preventDefault is how a drop target says no: the browser refuses the drop.
    if (!mayEnter(column)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("board-column--over");
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("board-column--over");
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!mayEnter(column)) return;
    event.preventDefault();
    var card = drag.card;
    var target = column.dataset.status;
    endDrag();
    openMenus(card);
    if (card.querySelector('.reason-step button[value="' + target + '"]')) {
      askReason(function (reason) { move(card, column, target, reason); });
    } else {
      move(card, column, target, "");
    }
  });

  document.addEventListener("dragend", function () {
    if (!drag) return;
    var over = drag.over;
    var from = drag.from;
    // Let go over a column the card may not enter: say why, in the server's words.
    if (over && over.dataset.status !== from && !mayEnter(over)) {
      say(refusal(from, over.dataset.status), "error", drag.card);
    }
    endDrag();
    flushRefresh();
  });

  function askReason(then) {
    var dialog = document.getElementById("lost-reason-dialog");
    if (!dialog || !dialog.showModal) { then(""); return; }
    var input = dialog.querySelector("input");
    input.value = "";
    dialog.returnValue = "";
    asking = true;
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      asking = false;
      if (dialog.returnValue === "confirm") then(input.value);
      else flushRefresh();
    });
    dialog.showModal();
    input.focus();
  }

  // --- moving --------------------------------------------------------------------------------

  function move(card, column, target, reason) {
    var form = card.querySelector("form[data-move-form]");
    if (!form || !window.htmx) return;
    pending = { card: card, home: card.parentNode, next: card.nextSibling, form: form };
    // Shown where it is going, marked as not yet confirmed; the server's answer replaces it.
    var list = column.querySelector(".cards");
    list.insertBefore(card, list.firstChild);
    card.classList.add("card--pending");
    card.setAttribute("aria-busy", "true");
    focusLead = card.dataset.lead;
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: form,
      target: "#board-columns",
      swap: "outerHTML",
      values: { status: target, reason: reason }
    });
  }

  function failureText(status) {
    if (!status) return "Not moved: the server could not be reached. The card is back where it is saved.";
    return "Not moved: the server refused the request (" + status + "). Reload the page if this repeats.";
  }

  function snapBack(text) {
    var p = pending;
    pending = null;
    focusLead = null;
    if (p && p.card.isConnected) {
      p.card.classList.remove("card--pending");
      p.card.removeAttribute("aria-busy");
      var next = p.next && p.next.parentNode === p.home ? p.next : null;
      p.home.insertBefore(p.card, next);
    }
    if (text) say(text, "error");
    refreshWanted = true;
    flushRefresh(); // the server's truth, in case the move went through after all
  }

  // The answer to a drop: either the server redrew the columns (the pending card is gone and
  // the lead is drawn where it really is), or it did not, and the card goes back.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!pending || event.detail.elt !== pending.form) return;
    if (!pending.card.isConnected) {
      pending = null;
      return;
    }
    var xhr = event.detail.xhr;
    // A refusal that names its own target (a 403's #messages) has already said why.
    var spoken = xhr && xhr.status && xhr.getResponseHeader("HX-Retarget");
    snapBack(spoken ? null : failureText(xhr ? xhr.status : 0));
  });

  // A card button (not a drop) that failed: nothing moved on screen, so only say so.
  function buttonFailed(event) {
    var elt = event.detail.elt;
    if (pending && elt === pending.form) return;
    if (!(elt && elt.matches && elt.matches("[data-move-form]"))) return;
    focusLead = null;
    var xhr = event.detail.xhr;
    say(failureText(xhr ? xhr.status : 0), "error");
  }
  document.addEventListener("htmx:responseError", buttonFailed);
  document.addEventListener("htmx:sendError", buttonFailed);
  document.addEventListener("htmx:timeout", buttonFailed);

  document.addEventListener("htmx:afterSettle", function () {
    enhance();
    // The columns were redrawn by the server: the pending card is gone, the truth is shown.
    if (pending && !pending.card.isConnected) pending = null;
    if (refusedNote && cardOf(refusedNote.id)) {
      say(refusedNote.reason, "error", cardOf(refusedNote.id));
      refusedNote = null;
    }
    if (focusLead) {
      var link = document.getElementById("card-link-" + focusLead);
      if (link && !pending) {
        // On a phone the card may have gone to a column not shown: then to that column's tab.
        var status = link.closest(".card").dataset.status;
        var tab = document.querySelector('.board-switcher a[data-status="' + status + '"]');
        (link.offsetParent === null && tab ? tab : link).focus();
        focusLead = null;
      }
    }
    flushRefresh();
  });

  document.addEventListener("DOMContentLoaded", enhance);
})();
