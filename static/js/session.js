// Live session page: poll progress.json every 1.5 s while the session is active, update the
// bar, and refresh the server-rendered sections when new answers or verdicts arrive and once
// more when the session finishes. No dependencies.
(function () {
  "use strict";
  var card = document.getElementById("progress-card");
  if (!card) return;
  var url = card.getAttribute("data-progress-url");
  var active = card.getAttribute("data-active") === "1";
  var POLL_MS = 1500;
  var REFRESH_MIN_MS = 4000;
  var lastKey = null;
  var lastRefresh = 0;
  var refreshing = false;

  function text(p) {
    var parts = [p.answered + " of " + p.questions + " answered"];
    if (p.failed) parts[0] += ", " + p.failed + " failed";
    parts.push(p.judged + " of " + p.judgments + " judgments done");
    if (p.is_active) parts.push("updating live");
    return parts.join(" · ");
  }

  function render(p) {
    var bar = document.getElementById("progress-bar");
    if (bar) bar.style.width = p.percent + "%";
    var pct = document.getElementById("progress-percent");
    if (pct) pct.textContent = p.percent + "%";
    var bg = card.querySelector("[role=progressbar]");
    if (bg) bg.setAttribute("aria-valuenow", String(p.percent));
    var t = document.getElementById("progress-text");
    if (t) t.textContent = text(p);
    var status = document.getElementById("session-status");
    if (status) {
      status.textContent = p.status_display;
      status.className = "status status-" + p.status;
    }
  }

  // Replace every [data-live] section with its fresh server rendering, keeping open <details>.
  function refreshSections(done) {
    if (refreshing) return;
    refreshing = true;
    lastRefresh = Date.now();
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (section) {
          var fresh = doc.getElementById(section.id);
          if (!fresh) return;
          var open = {};
          section.querySelectorAll("details[open]").forEach(function (d, i) {
            open[(d.closest("[id]") || {}).id + ":" + d.className + ":" + i] = true;
          });
          section.innerHTML = fresh.innerHTML;
          section.querySelectorAll("details").forEach(function (d, i) {
            if (open[(d.closest("[id]") || {}).id + ":" + d.className + ":" + i]) d.open = true;
          });
        });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { refreshing = false; if (done) done(); });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        render(p);
        var key = [p.answered, p.failed, p.judged, p.judgments, p.status].join("/");
        if (!p.is_active) {
          active = false;
          card.setAttribute("data-active", "0");
          refreshSections();
          return;
        }
        if (lastKey === null) {
          lastKey = key;
        } else if (key !== lastKey && Date.now() - lastRefresh > REFRESH_MIN_MS) {
          lastKey = key;
          refreshSections();
        }
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 2); });
  }

  if (active) window.setTimeout(poll, POLL_MS);
})();
