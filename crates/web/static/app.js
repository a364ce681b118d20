// dcmdisc's live pages: follows GET /api/events (Server-Sent Events) and keeps the page
// current without a reload. Plain JavaScript, no build step, served by dcmdisc itself.
//
// - `progress` events move a job's progress bar, percentage and state in place.
// - `association` progress events move the counts of an open association in place.
// - Everything else that changes what a page lists (`job`, `disc`, `burner`, an association
//   opened or closed) refreshes the page's live regions: the page is fetched again and each
//   element marked `data-live` is replaced by the new one (the server renders and escapes
//   it, as on the first load). At most one refresh a second.
// - `ready` (the first event of every connection, so also after each reconnect), `resync`
//   and a lost stream refresh too: what happened while the stream was down is shown.
// - The browser's EventSource reconnects by itself (retry: 1 s, from the server); when it
//   gives up (readyState CLOSED) this script reconnects after a bounded back-off.
(function () {
  "use strict";

  var status = document.getElementById("live-status");
  var source = null;
  var refreshTimer = null;
  var lastRefresh = 0;
  var backoff = 1000;
  var connects = 0;

  function setStatus(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function swapLiveRegions(doc) {
    var active = document.activeElement;
    document.querySelectorAll("[data-live][id]").forEach(function (old) {
      var fresh = doc.getElementById(old.id);
      if (!fresh) return;
      // Never pull a field out from under the operator's fingers: try again later.
      if (active && active !== document.body && old.contains(active) &&
          /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
        scheduleRefresh(2000);
        return;
      }
      old.replaceWith(document.importNode(fresh, true));
    });
  }

  function refresh() {
    refreshTimer = null;
    lastRefresh = Date.now();
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store",
                                  credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (text) {
        swapLiveRegions(new DOMParser().parseFromString(text, "text/html"));
        document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
      })
      .catch(function () { scheduleRefresh(3000); });
  }

  function scheduleRefresh(delay) {
    if (refreshTimer !== null) return;
    var wait = Math.max(delay || 0, 1000 - (Date.now() - lastRefresh));
    refreshTimer = window.setTimeout(refresh, Math.max(wait, 50));
  }

  function each(selector, f) {
    document.querySelectorAll(selector).forEach(f);
  }

  function onProgress(p) {
    var permille = Math.round(Math.max(0, Math.min(1, p.progress)) * 1000);
    var pct = Math.round(permille / 10) + "%";
    each('[data-job-progress="' + p.job + '"]', function (el) {
      el.value = permille;
      el.textContent = pct;
    });
    each('[data-job-percent="' + p.job + '"]', function (el) { el.textContent = pct; });
    each('[data-job-stage="' + p.job + '"]', function (el) { el.textContent = p.stage; });
    each('[data-job-state="' + p.job + '"]', function (el) {
      if (el.textContent !== p.state) {
        el.textContent = p.state;
        el.className = "state " + p.state;
      }
    });
  }

  function size(bytes) {
    if (bytes >= 1e9) return (bytes / 1e9).toFixed(1) + " GB";
    if (bytes >= 1e6) return (bytes / 1e6).toFixed(1) + " MB";
    if (bytes >= 1e3) return (bytes / 1e3).toFixed(0) + " kB";
    return bytes + " B";
  }

  function onAssociation(c) {
    var a = c.association;
    var row = document.querySelector('[data-assoc="' + a.id + '"]');
    if (c.change === "progress" && row) {
      row.querySelector('[data-field="instances"]').textContent = String(a.instances);
      row.querySelector('[data-field="failures"]').textContent = String(a.failures);
      row.querySelector('[data-field="bytes"]').textContent = size(a.bytes);
      // A patient can appear while the modality is still sending (Patients page).
      if (document.getElementById("patient-list")) scheduleRefresh(1000);
      return;
    }
    scheduleRefresh(0);
  }

  function parse(e) {
    try { return JSON.parse(e.data); } catch (x) { return null; }
  }

  function connect() {
    source = new EventSource("/api/events");
    var mine = source;
    setStatus("connecting", "connecting…");
    source.addEventListener("ready", function () {
      connects += 1;
      document.body.dataset.streamConnects = String(connects);
      backoff = 1000;
      setStatus("live", "live");
      scheduleRefresh(0);
    });
    source.addEventListener("progress", function (e) {
      var p = parse(e);
      if (p) onProgress(p);
    });
    source.addEventListener("association", function (e) {
      var c = parse(e);
      if (c) onAssociation(c);
    });
    ["job", "disc", "burner", "resync"].forEach(function (name) {
      source.addEventListener(name, function () { scheduleRefresh(0); });
    });
    source.onerror = function () {
      if (mine !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        setStatus("lost", "reconnecting…");
        window.setTimeout(reconnect, backoff);
        backoff = Math.min(backoff * 2, 30000);
      } else {
        // The browser reconnects by itself (Last-Event-ID), then `ready` comes.
        setStatus("lost", "reconnecting…");
      }
    };
  }

  function reconnect() {
    if (source) source.close();
    connect();
  }

  // For the operator's console and the browser test: drop the stream as a network failure
  // would, and let the same reconnect logic bring it back.
  window.dcmdisc = {
    dropStream: function () {
      if (source) source.close();
      setStatus("lost", "reconnecting…");
      window.setTimeout(reconnect, backoff);
    },
    connects: function () { return connects; }
  };

  // Countdowns (a waiting job's quiet period on the Patients page): the server renders the
  // seconds left as `data-countdown`; each element counts down from when it was put in the
  // page (first load or a live refresh), so the browser's clock never matters.
  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (!el.dataset.deadline) {
        el.dataset.deadline = String(now + 1000 * Number(el.dataset.countdown || 0));
      }
      var left = Math.max(0, Math.ceil((Number(el.dataset.deadline) - now) / 1000));
      var text = left > 0 ? left + " s left" : "starting…";
      var out = el.querySelector("[data-left]") || el;
      if (out.textContent !== text) out.textContent = text;
    });
  }
  tickCountdowns();
  window.setInterval(tickCountdowns, 1000);

  if (typeof EventSource !== "undefined") connect();
})();
