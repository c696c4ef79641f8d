// Keyboard review. Queue: j/k move between rows, Enter or o opens, / searches. Judgment page:
// j/k move between criteria, 1..n rate the focused criterion (1 = lowest) and move on to the
// next one (after the last, the cursor goes to the reason), r puts the cursor in the reason,
// Enter in the reason saves every changed rating at once without reloading the page (a plain
// form post without JavaScript), n/p go to the next/previous judgment, Esc leaves a field.
// No dependencies.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-item]"));
  var scaleEl = document.getElementById("scale-keys");
  var scale = scaleEl ? JSON.parse(scaleEl.textContent) : [];
  var current = -1;
  var ratingsForm = document.querySelector("[data-ratings-form]");

  function focusItem(index) {
    if (!items.length) return;
    index = Math.max(0, Math.min(items.length - 1, index));
    if (current >= 0 && items[current]) items[current].classList.remove("focused");
    current = index;
    var el = items[current];
    el.classList.add("focused");
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
  }

  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  items.forEach(function (el, index) {
    el.addEventListener("click", function (event) {
      if (el.hasAttribute("data-href") && !event.target.closest("a, button, input, select, textarea")) {
        window.location.href = el.getAttribute("data-href");
        return;
      }
      if (current !== index) focusItem(index);
    });
  });

  // After a rejected override the form with errors is the one to look at.
  var withError = document.querySelector(".criterion .error");
  if (withError) focusItem(items.indexOf(withError.closest("[data-item]")));

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      if (typing(event.target)) event.target.blur();
      if (current >= 0) items[current].focus({ preventScroll: true });
      return;
    }
    if (typing(event.target)) return;
    var key = event.key;
    var search = document.getElementById("id_q");
    if (key === "/" && search) { search.focus(); search.select(); event.preventDefault(); return; }
    var reasonField = ratingsForm && ratingsForm.querySelector("input[name=reason]");
    if (key === "r" && reasonField) { reasonField.focus(); event.preventDefault(); return; }
    if (key === "j") { focusItem(current + 1); event.preventDefault(); return; }
    if (key === "k") { focusItem(current - 1); event.preventDefault(); return; }
    if (key === "n" || key === "p") {
      var link = document.getElementById(key === "n" ? "next-link" : "prev-link");
      if (link) { window.location.href = link.href; event.preventDefault(); }
      return;
    }
    if ((key === "Enter" || key === "o") && current >= 0 && items[current].hasAttribute("data-href")) {
      window.location.href = items[current].getAttribute("data-href");
      event.preventDefault();
      return;
    }
    if (/^[1-9]$/.test(key) && scale.length && ratingsForm) {
      var level = scale[parseInt(key, 10) - 1];
      if (!level) return;
      if (current < 0) focusItem(0);
      var select = items[current].querySelector("select");
      if (!select) return;
      select.value = level;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      if (current + 1 < items.length) focusItem(current + 1);
      else if (reasonField) reasonField.focus();
      event.preventDefault();
    }
  });

  // One save for every criterion: post the form, update the ratings and the score in place.
  if (!ratingsForm) return;
  var statusEl = document.getElementById("ratings-status");
  var errorsEl = document.getElementById("ratings-errors");
  ratingsForm.addEventListener("change", function (event) {
    var item = event.target.closest("[data-item]");
    if (item) item.classList.toggle("changed", event.target.value !== item.querySelector("[data-effective]").textContent.trim());
  });
  ratingsForm.addEventListener("submit", function (event) {
    event.preventDefault();
    errorsEl.textContent = "";
    statusEl.textContent = "Saving…";
    fetch(window.location.pathname, {
      method: "POST",
      body: new FormData(ratingsForm),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.ok) {
          statusEl.textContent = "";
          errorsEl.textContent = data.errors.join(" ");
          return;
        }
        data.ratings.forEach(function (r) {
          var item = document.getElementById("criterion-" + r.key);
          if (!item) return;
          var effective = item.querySelector("[data-effective]");
          effective.textContent = r.rating;
          effective.className = "rating-" + r.rating;
          item.querySelector("[data-judge-note]").hidden = !r.overridden;
          item.querySelector("select").value = r.rating;
          item.classList.remove("changed");
        });
        var score = document.getElementById("judgment-score");
        if (score && data.score !== null) score.textContent = data.score;
        ratingsForm.querySelector("input[name=reason]").value = "";
        statusEl.textContent = data.message;
      })
      .catch(function () {
        statusEl.textContent = "";
        errorsEl.textContent = "Could not save: the server did not answer. Nothing was lost; try again.";
      });
  });
})();
