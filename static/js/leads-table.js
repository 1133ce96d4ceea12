// Enhancements for the leads table. Everything here is optional: the page works without it.
// - "/" focuses the search box (unless typing in a field already); leaving it does not search again
// - "select all on this page" checkbox
// - the bulk status menu offers only statuses valid for at least one ticked lead
// - the bulk form sends the ticked rows in one field
// - the nav's Board link follows the filters after htmx pushes a new URL
// - on a phone, secondary filters none of which is set are folded behind "More filters"
(function () {
  "use strict";

  var PHONE = window.matchMedia("(max-width: 40rem)");

  function filtersSet(details) {
    return Array.prototype.filter.call(details.querySelectorAll("select, input"), function (field) {
      return field.tagName === "SELECT" ? field.selectedIndex > 0 : Boolean(field.value);
    }).length;
  }

  function foldFilters() {
    document.querySelectorAll("details[data-fold-on-phone]").forEach(function (details) {
      var set = filtersSet(details);
      var label = details.querySelector("[data-filters-set]");
      if (label) label.textContent = set ? "(" + set + " set)" : "";
      // Wider screens show them inline (CSS hides the summary): never leave them folded there.
      details.open = !PHONE.matches || set > 0;
    });
  }
  document.addEventListener("DOMContentLoaded", foldFilters);
  PHONE.addEventListener("change", foldFilters);

  // The server renders the Board link for the URL it served; htmx filtering changes the URL
  // without re-rendering the nav, so rebuild the link from the address bar, dropping the
  // parameters the template lists (the board has its own status columns, sort and paging).
  function syncBoardLink() {
    var link = document.querySelector("a[data-board-link]");
    if (!link) return;
    var params = new URLSearchParams(window.location.search);
    (link.dataset.dropParams || "").split(" ").forEach(function (name) {
      if (name) params.delete(name);
    });
    var query = params.toString();
    link.setAttribute("href", link.pathname + (query ? "?" + query : ""));
  }
  ["htmx:pushedIntoHistory", "htmx:replacedInHistory", "htmx:historyRestore"].forEach(function (name) {
    document.addEventListener(name, syncBoardLink);
  });
  window.addEventListener("popstate", syncBoardLink);

  // The search box asks as it is typed in (its `input` trigger). Its `change`, fired when the
  // focus leaves it, would ask again for the same rows and clear a row ticked meanwhile.
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_q") event.stopPropagation();
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var search = document.getElementById("id_q");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  function rowBoxes(form) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][name=lead]'));
  }

  // Statuses come from data-from on each option (rendered from the pipeline table), so this
  // script never spells out a transition itself.
  function narrowStatusMenu(form) {
    var menu = form.querySelector("#bulk-status");
    if (!menu) return;
    var across = form.querySelector("[data-select-across]");
    var ticked = rowBoxes(form).filter(function (box) { return box.checked; });
    var present = {};
    ticked.forEach(function (box) { present[box.dataset.status] = true; });
    Array.prototype.forEach.call(menu.options, function (option) {
      var sources = (option.dataset.from || "").split(" ");
      var usable = (across && across.checked) || ticked.length === 0 ||
        sources.some(function (status) { return present[status]; });
      option.disabled = !usable;
    });
    if (menu.selectedOptions.length && menu.selectedOptions[0].disabled) {
      var firstUsable = Array.prototype.find.call(menu.options, function (o) { return !o.disabled; });
      if (firstUsable) menu.value = firstUsable.value;
    }
  }

  function syncPageBox(form) {
    var pageBox = form.querySelector("[data-select-page]");
    if (!pageBox) return;
    var boxes = rowBoxes(form);
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    pageBox.checked = boxes.length > 0 && ticked === boxes.length;
    pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  function enhance(root) {
    var form = root.querySelector ? root.querySelector("#bulk-form") : null;
    if (!form || form.dataset.enhanced) return;
    form.dataset.enhanced = "1";
    var pageBox = form.querySelector("[data-select-page]");
    if (pageBox) pageBox.hidden = false;
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.matches("[data-select-page]")) {
        rowBoxes(form).forEach(function (box) { box.checked = target.checked; });
      }
      syncPageBox(form);
      narrowStatusMenu(form);
    });
    narrowStatusMenu(form);
    form.addEventListener("submit", function () { packTicked(form); });
  }

  // The ticked rows go as one field, `ids`, not one field per row: a form with more fields
  // than the server accepts is refused whole. The boxes are disabled so they are not sent
  // twice; "pageshow" enables them again when the browser's back button returns here.
  function packTicked(form) {
    var field = form.querySelector("input[type=hidden][name=ids]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "ids";
      form.appendChild(field);
    }
    var ticked = rowBoxes(form).filter(function (box) { return box.checked && !box.disabled; });
    field.value = ticked.map(function (box) { return box.value; }).join(",");
    ticked.forEach(function (box) { box.disabled = true; });
  }
  window.addEventListener("pageshow", function () {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    rowBoxes(form).forEach(function (box) { box.disabled = false; });
  });

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function () { enhance(document); });
})();
