// Keyboard review. Queue: j/k move between rows, Enter or o opens. Judgment page: j/k move
// between criteria, 1..n pick a rating for the focused criterion (1 = lowest) and put the
// cursor in its reason, Enter in the reason submits (a plain form submit), n/p go to the
// next/previous judgment, Esc leaves a field. No dependencies.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-item]"));
  var scaleEl = document.getElementById("scale-keys");
  var scale = scaleEl ? JSON.parse(scaleEl.textContent) : [];
  var current = -1;

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
    if (/^[1-9]$/.test(key) && scale.length) {
      var level = scale[parseInt(key, 10) - 1];
      if (!level) return;
      if (current < 0) focusItem(0);
      var form = items[current].querySelector("[data-override-form]");
      if (!form) return;
      var select = form.querySelector("select[name=new_rating]");
      select.value = level;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      var reason = form.querySelector("input[name=reason]");
      if (reason) reason.focus();
      event.preventDefault();
    }
  });
})();
