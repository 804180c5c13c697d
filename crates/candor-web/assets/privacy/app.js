/*
 * The privacy center. Opened from a link with `?token=...` (a subject token), or for the demo
 * with `?subject=ID&key=KEY` (an ingest key for changes) and optionally `&readKey=KEY` (a
 * decide key for reading; defaults to `key`).
 */
(function () {
  "use strict";
  var P = window.CandorPage;
  var el = P.el;
  var params = new URLSearchParams(location.search);
  var subject = params.get("subject");
  var writeKey = params.get("key");
  var readKey = params.get("readKey") || writeKey;
  var gpc = navigator.globalPrivacyControl === true;
  var current = null; // the last consent state from the server

  function $(id) { return document.getElementById(id); }
  function base() { return "/v1/subjects/" + encodeURIComponent(subject); }

  function problem(text) {
    var box = $("session-problem");
    P.clear(box).appendChild(el("p", { class: "error", role: "alert", text: text }));
    box.hidden = false;
    ["purposes", "told-body", "inferred-body"].forEach(function (id) { P.clear($(id)); });
    ["pause-toggle", "download-btn", "delete-btn"].forEach(function (id) { $(id).disabled = true; });
  }

  if (params.get("token") && !subject) {
    problem("Sign-in links are not supported by this server yet. Please ask the shop for a new link.");
    return;
  }
  if (!subject || !writeKey) {
    problem("This page needs a personal link from the shop. Open the privacy center from the link the shop gave you.");
    return;
  }
  $("gpc").hidden = !gpc;

  P.api("GET", "/v1/policy", readKey).then(function (r) {
    if (r.ok) $("controller").textContent = r.data.controller;
  });

  // ------------------------------------------------------------------ choices

  function renderChoices(state) {
    current = state;
    var box = P.clear($("purposes"));
    state.purposes.forEach(function (p) {
      var id = "purpose-" + p.purpose;
      var control;
      if (p.status === "not_required") {
        control = el("span", { class: "always", text: "Always on (" + p.legal_basis.replace(/_/g, " ") + ")" });
      } else {
        var box2 = el("input", { type: "checkbox", role: "switch", id: id, "data-purpose": p.purpose,
          "aria-describedby": id + "-text " + id + "-reason" });
        box2.checked = p.allowed;
        box2.addEventListener("change", function () { toggle(p, box2); });
        control = el("label", { class: "switch", for: id }, [box2, el("span", { class: "sr-only", text: p.title })]);
        control.appendChild(el("span", { "aria-hidden": "true", text: p.allowed ? "On" : "Off" }));
      }
      box.appendChild(el("div", { class: "purpose", "data-purpose": p.purpose, "data-status": p.status }, [
        el("div", {}, [
          el("div", { class: "title", id: id + "-title", text: p.title }),
          el("div", { id: id + "-text", text: p.text }),
          el("div", { class: "reason", id: id + "-reason", text: "Now: " + p.reason + (p.since ? " (" + new Date(p.since).toLocaleString() + ")" : "") })
        ]),
        control
      ]));
    });
  }

  function toggle(p, input) {
    var on = input.checked;
    input.disabled = true;
    var decision = on ? "granted" : p.status === "granted" ? "withdrawn" : "denied";
    var body = { decisions: [{ purpose: p.purpose, decision: decision }], source: "banner", choice: "individual",
      evidence: { ui: "privacy-center", gpc: gpc } };
    P.api("PUT", base() + "/consents", writeKey, body).then(function (r) {
      if (!r.ok) {
        input.checked = !on;
        input.disabled = false;
        P.clear($("choices-status")).appendChild(P.failure(r));
        return;
      }
      renderChoices(r.data);
      var now = r.data.purposes.filter(function (x) { return x.purpose === p.purpose; })[0];
      $("choices-status").textContent = "Saved: " + p.title + " is now " + (now && now.allowed ? "on" : "off") + ".";
      var again = document.getElementById("purpose-" + p.purpose);
      if (again) again.focus();
      loadHistory();
    });
  }

  function loadChoices() {
    return P.api("GET", base() + "/consents", readKey).then(function (r) {
      if (r.ok) renderChoices(r.data);
      else if (r.status === 401 || r.status === 403) problem("This link is not valid any more (" + r.message + ").");
      else P.clear($("purposes")).appendChild(P.failure(r));
    });
  }

  // ------------------------------------------------------------------ what we know

  var told = el("div");
  var history = el("div");

  function titleOf(purpose) {
    var p = current && current.purposes.filter(function (x) { return x.purpose === purpose; })[0];
    return p ? p.title : purpose;
  }

  function loadHistory() {
    P.api("GET", base() + "/consents/history?limit=20", readKey).then(function (r) {
      P.clear(history).appendChild(el("h3", { text: "Your consent choices" }));
      if (r.missing) { history.appendChild(P.unavailable("Your choice history")); return; }
      if (!r.ok) { history.appendChild(P.failure(r)); return; }
      if (!r.data.items.length) { history.appendChild(el("p", { class: "muted", text: "You have not made any choices yet." })); return; }
      var rows = r.data.items.map(function (h) {
        return el("tr", {}, [
          el("td", { text: new Date(h.at).toLocaleString() }),
          el("td", { text: titleOf(h.purpose) }),
          el("td", { text: h.decision }),
          el("td", { text: h.source + (h.bulk ? " (all at once)" : "") })
        ]);
      });
      history.appendChild(el("table", {}, [
        el("caption", { class: "sr-only", text: "Your consent choices, newest first" }),
        el("thead", {}, [el("tr", {}, ["When", "Purpose", "Choice", "How"].map(function (h) { return el("th", { scope: "col", text: h }); }))]),
        el("tbody", {}, rows)
      ]));
    });
  }

  function loadProfile() {
    P.clear($("told-body")).appendChild(told);
    $("told-body").appendChild(history);
    loadHistory();
    P.api("GET", base() + "/profile", readKey).then(function (r) {
      P.clear(told);
      var inferred = P.clear($("inferred-body"));
      if (r.missing) {
        told.appendChild(P.unavailable("Details you gave us"));
        inferred.appendChild(P.unavailable("Your interest profile"));
        return;
      }
      if (!r.ok) { inferred.appendChild(P.failure(r)); return; }
      var d = r.data || {};
      told.appendChild(el("h3", { text: "Details you gave us" }));
      told.appendChild(P.render(d.declared || d.told || {}));
      var interests = d.interests || d.inferred || [];
      if (!interests.length) {
        inferred.appendChild(el("p", { class: "muted", text: "We have not inferred any interests about you." }));
      } else {
        inferred.appendChild(P.render(interests));
      }
      if (typeof d.paused === "boolean") $("pause-toggle").checked = d.paused;
    });
  }

  // ------------------------------------------------------------------ actions

  $("pause-toggle").addEventListener("change", function () {
    var t = $("pause-toggle");
    var want = t.checked;
    P.api("PUT", base() + "/pause", writeKey, { paused: want }).then(function (r) {
      var s = P.clear($("pause-status"));
      if (r.ok) { s.appendChild(el("p", { class: "ok", text: want ? "Personalization is paused." : "Personalization is on again." })); return; }
      t.checked = !want;
      s.appendChild(r.missing ? P.unavailable("Pausing personalization") : P.failure(r));
    });
  });

  $("download-btn").addEventListener("click", function () {
    P.api("GET", base() + "/export", readKey).then(function (r) {
      var s = P.clear($("download-status"));
      if (r.missing) { s.appendChild(P.unavailable("Downloading your data")); return; }
      if (!r.ok) { s.appendChild(P.failure(r)); return; }
      var blob = new Blob([JSON.stringify(r.data, null, 2)], { type: "application/json" });
      var a = el("a", { href: URL.createObjectURL(blob), download: "my-data.json", text: "Save my-data.json" });
      s.appendChild(el("p", { class: "ok" }, ["Your data is ready. ", a]));
      a.click();
    });
  });

  function closeConfirm() {
    $("delete-confirm").hidden = true;
    $("delete-btn").setAttribute("aria-expanded", "false");
    $("delete-btn").focus();
  }
  $("delete-btn").addEventListener("click", function () {
    $("delete-confirm").hidden = false;
    $("delete-btn").setAttribute("aria-expanded", "true");
    $("delete-no").focus();
  });
  $("delete-no").addEventListener("click", closeConfirm);
  $("delete-confirm").addEventListener("keydown", function (e) { if (e.key === "Escape") closeConfirm(); });
  $("delete-yes").addEventListener("click", function () {
    $("delete-yes").disabled = true;
    P.api("DELETE", base(), writeKey).then(function (r) {
      $("delete-yes").disabled = false;
      var s = P.clear($("delete-status"));
      $("delete-confirm").hidden = true;
      $("delete-btn").setAttribute("aria-expanded", "false");
      if (r.missing) { s.appendChild(P.unavailable("Deleting your data")); return; }
      if (!r.ok) { s.appendChild(P.failure(r)); return; }
      s.appendChild(el("p", { class: "ok", text: "Your data has been deleted. Receipt:" }));
      s.appendChild(P.render(r.data));
    });
  });

  loadChoices();
  loadProfile();
})();
