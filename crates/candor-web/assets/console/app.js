/*
 * The operator console. The admin key lives in sessionStorage only: it survives a reload but
 * not the tab, and is never written anywhere a later visitor of this browser could read it.
 * Each section calls its own endpoint and shows "not available yet" when the server lacks it,
 * so the console works against servers older or newer than itself.
 */
(function () {
  "use strict";
  var P = window.CandorPage;
  var el = P.el;
  var KEY = "candor.console.adminKey";
  var LINT_DELAY_MS = 300;
  var key = sessionStorage.getItem(KEY);

  function $(id) { return document.getElementById(id); }
  function body(id) { return P.clear($(id).querySelector(".body")); }

  function table(headers, rows) {
    return el("table", {}, [
      el("thead", {}, [el("tr", {}, headers.map(function (h) { return el("th", { scope: "col", text: h }); }))]),
      el("tbody", {}, rows.map(function (r) { return el("tr", {}, r.map(function (c) { return el("td", {}, [typeof c === "string" || c instanceof Node ? c : P.render(c)]); })); }))
    ]);
  }

  /** Loads one section; `draw` renders a successful answer. */
  function section(id, what, path, draw) {
    var b = body(id);
    b.appendChild(el("p", { class: "muted", text: "Loading…" }));
    return P.api("GET", path, key).then(function (r) {
      P.clear(b);
      if (r.missing) b.appendChild(P.unavailable(what));
      else if (!r.ok) b.appendChild(P.failure(r));
      else draw(b, r.data);
      return r;
    });
  }

  var DUE_SOON_MS = 7 * 24 * 3600 * 1000;
  var SVG = "http://www.w3.org/2000/svg";
  function when(t) { return t ? new Date(t).toLocaleDateString() : "—"; }

  /** A horizontal bar chart drawn as SVG (no script or style from elsewhere), with its numbers
   * as text so it reads without the picture. */
  function bars(caption, data) {
    var max = Math.max.apply(null, data.map(function (x) { return x.value; }).concat([1]));
    var rowH = 26, labelW = 190, barW = 360, h = data.length * rowH + 4;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + (labelW + barW + 70) + " " + h);
    svg.setAttribute("width", String(labelW + barW + 70));
    svg.setAttribute("height", String(h));
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", caption + ": " + data.map(function (x) { return x.label + " " + x.value; }).join(", "));
    data.forEach(function (x, i) {
      var y = i * rowH + 2;
      var t = document.createElementNS(SVG, "text");
      t.setAttribute("x", "0"); t.setAttribute("y", String(y + 17)); t.setAttribute("fill", "#1a1a1a");
      t.textContent = x.label;
      var r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", String(labelW)); r.setAttribute("y", String(y + 3));
      r.setAttribute("width", String(Math.max(2, Math.round(barW * x.value / max)))); r.setAttribute("height", "18");
      r.setAttribute("fill", "#1f3a5f");
      var v = document.createElementNS(SVG, "text");
      v.setAttribute("x", String(labelW + Math.round(barW * x.value / max) + 8)); v.setAttribute("y", String(y + 17)); v.setAttribute("fill", "#1a1a1a");
      v.textContent = String(x.value);
      svg.appendChild(t); svg.appendChild(r); svg.appendChild(v);
    });
    return el("figure", { class: "chart" }, [el("figcaption", { class: "muted", text: caption }), svg]);
  }

  function items(d) { return Array.isArray(d) ? d : (d && (d.items || d.rows)) || []; }

  function dashboard() {
    $("signin").hidden = true;
    $("dashboard").hidden = false;
    $("session").hidden = false;

    section("data-map", "The data map", "/v1/policy/data-map", function (b, d) {
      b.appendChild(el("p", { class: "muted", text: d.controller + " · " + d.contact + " · policy " + d.policy_version }));
      b.appendChild(table(["Purpose", "Legal basis", "Retention", "Data categories", "Collected from"],
        d.purposes.map(function (p) {
          var flags = [p.sale_or_sharing ? "sale or sharing" : "", p.session_only ? "this visit only" : "", p.channel ? "channel: " + p.channel : ""].filter(Boolean);
          return [
            el("div", {}, [el("strong", { text: p.title }), el("div", { class: "muted", text: p.text }), flags.length ? el("div", { text: flags.join(", ") }) : null]),
            p.legal_basis.replace(/_/g, " "),
            p.retention_days + " days",
            p.categories,
            p.collected_from
          ];
        })));
      var sel = P.clear($("rule-purpose"));
      d.purposes.forEach(function (p) { sel.appendChild(el("option", { value: p.purpose, text: p.title })); });
      lint();
    });

    section("consent-rates", "Consent rates", "/v1/stats/consents", function (b, d) {
      var rows = items(d).map(function (r) { return [r.purpose || "", String(r.granted || 0), String(r.denied || 0), r.rate !== undefined ? Math.round(r.rate * 100) + "%" : ""]; });
      b.appendChild(rows.length ? table(["Purpose", "Granted", "Denied", "Rate"], rows) : P.render(d));
    });

    section("drops", "Drop counts", "/v1/stats/drops?days=30", function (b, d) {
      var byReason = {};
      items(d).forEach(function (r) { byReason[r.reason] = (byReason[r.reason] || 0) + r.count; });
      var reasons = Object.keys(byReason).sort(function (a, c) { return byReason[c] - byReason[a]; });
      if (!reasons.length) { b.appendChild(el("p", { class: "muted", text: "No events were dropped in the last 30 days." })); return; }
      b.appendChild(bars("Events not stored in the last 30 days, by reason", reasons.map(function (r) { return { label: r.replace(/_/g, " "), value: byReason[r] }; })));
      b.appendChild(table(["Reason", "Events"], reasons.map(function (r) { return [r.replace(/_/g, " "), String(byReason[r])]; })));
    });

    section("dsr", "The data-subject request queue", "/v1/dsr?limit=100", function (b, d) {
      var rows = items(d);
      if (!rows.length) { b.appendChild(el("p", { class: "muted", text: "No requests yet." })); return; }
      var now = Date.now();
      var open = rows.filter(function (r) { return !r.completed_at; });
      var overdue = open.filter(function (r) { return r.overdue; }).length;
      var soon = open.filter(function (r) { return !r.overdue && Date.parse(r.deadline_at) - now < DUE_SOON_MS; }).length;
      b.appendChild(el("p", { id: "dsr-summary", class: overdue ? "error" : "muted",
        text: rows.length + " requests: " + open.length + " open (" + overdue + " overdue, " + soon + " due within 7 days), " + (rows.length - open.length) + " completed." }));
      var byKind = {};
      rows.forEach(function (r) { byKind[r.kind] = (byKind[r.kind] || 0) + 1; });
      b.appendChild(bars("Requests by kind", Object.keys(byKind).sort().map(function (k) { return { label: k.replace(/_/g, " "), value: byKind[k] }; })));
      b.appendChild(el("h3", { text: "Queue, newest first" }));
      b.appendChild(table(["Request", "Kind", "Person (keyed hash)", "Received", "Deadline", "Status"], rows.map(function (r) {
        var state = r.completed_at ? "completed " + when(r.completed_at) : r.overdue ? "OVERDUE" : r.status.replace(/_/g, " ");
        var tr = [String(r.id), r.kind.replace(/_/g, " "), el("code", { text: r.subject_ref.slice(0, 12) + "…", title: r.subject_ref }),
          when(r.received_at), when(r.deadline_at) + " (" + r.jurisdiction + ")", el("span", { class: r.overdue ? "error" : "", text: state })];
        return tr;
      })));
      b.querySelectorAll("tbody tr").forEach(function (tr, i) { tr.setAttribute("data-kind", rows[i].kind); tr.setAttribute("data-status", rows[i].status); });
    });

    section("audit", "Audit log verification", "/v1/audit/verify", function (b, d) {
      var okay = d && (d.ok === true || d.status === "ok" || d.valid === true);
      b.appendChild(el("p", { class: okay ? "ok" : "error", text: okay ? "The audit chain verifies." : "The audit chain does not verify." }));
      b.appendChild(P.render(d));
    });

    section("segments", "Segments", "/v1/segments", function (b, d) {
      var rows = items(d);
      b.appendChild(rows.length ? table(["Segment", "Purpose", "Rule"], rows.map(function (s) { return [s.name || s.id || "", s.purpose || "", s.rule || ""]; }))
        : el("p", { class: "muted", text: "No segments yet." }));
    });

    section("campaigns", "Campaigns", "/v1/campaigns", function (b, d) {
      var rows = items(d);
      b.appendChild(rows.length ? table(["Campaign", "Channel", "Segment", "Status"], rows.map(function (c) { return [c.name || c.id || "", c.channel || "", c.segment || "", c.status || ""]; }))
        : el("p", { class: "muted", text: "No campaigns yet." }));
    });
  }

  var lintTimer = null;
  var lintSeq = 0;
  function lint() {
    var seq = ++lintSeq;
    var out = $("lint");
    P.api("POST", "/v1/segments/lint", key, { rule: $("rule").value, purpose: $("rule-purpose").value || undefined }).then(function (r) {
      if (seq !== lintSeq) return; // a newer keystroke's answer wins
      P.clear(out);
      if (r.missing) { out.appendChild(P.unavailable("Live rule checking")); return; }
      var d = r.data || {};
      var problems = [].concat(d.errors || [], d.warnings || [], d.issues || [], (d.error && [d.error]) || []);
      if (r.ok && !problems.length) { out.appendChild(el("p", { class: "ok", text: "No problems found." })); return; }
      out.appendChild(el("ul", {}, problems.map(function (p) {
        var text = typeof p === "string" ? p : (p.message || JSON.stringify(p)) + (p.line ? " (line " + p.line + (p.column ? ", column " + p.column : "") + ")" : "");
        return el("li", { class: p.severity === "warning" ? "warning" : "error", text: text });
      })));
    });
  }
  $("rule").addEventListener("input", function () {
    clearTimeout(lintTimer);
    lintTimer = setTimeout(lint, LINT_DELAY_MS);
  });
  $("rule-purpose").addEventListener("change", lint);

  $("signin").addEventListener("submit", function (e) {
    e.preventDefault();
    var candidate = $("admin-key").value.trim();
    // The data map needs the admin scope, so it doubles as the key check.
    P.api("GET", "/v1/policy/data-map", candidate).then(function (r) {
      var s = P.clear($("signin-status"));
      if (!r.ok) { s.appendChild(el("p", { class: "error", role: "alert", text: "That key does not work here: " + r.message })); return; }
      key = candidate;
      sessionStorage.setItem(KEY, key);
      $("admin-key").value = "";
      dashboard();
      $("main").focus();
    });
  });
  $("forget").addEventListener("click", function () {
    sessionStorage.removeItem(KEY);
    key = null;
    location.reload();
  });

  if (key) dashboard();
})();
