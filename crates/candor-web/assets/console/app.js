/*
 * The operator console. The admin key lives in sessionStorage only: it survives a reload but
 * not the tab, and is never written anywhere a later visitor of this browser could read it.
 * Each section calls its own endpoint and shows "not available yet" when the server lacks it,
 * so the console works against servers older or newer than itself.
 *
 * Counts about people come from the server already k-suppressed: a number, or a phrase such as
 * "fewer than 10" or "withheld". The console shows them as given and never computes a count
 * of people itself.
 */
(function () {
  "use strict";
  var P = window.CandorPage;
  var C = window.CandorCharts;
  var el = P.el;
  var KEY = "candor.console.adminKey";
  var LINT_DELAY_MS = 300;
  var AUDIT_PAGE_LEN = 20;
  var key = sessionStorage.getItem(KEY);
  var policy = null; // the data map, once loaded: purposes with titles

  function $(id) { return document.getElementById(id); }
  function body(id) { return P.clear($(id).querySelector(".body")); }
  function words(code) { return String(code).replace(/_/g, " "); }
  function api(method, path, payload) { return P.api(method, path, key, payload); }
  function enc(s) { return encodeURIComponent(s); }

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
    return api("GET", path).then(function (r) {
      P.clear(b);
      if (r.missing) b.appendChild(P.unavailable(what));
      else if (!r.ok) b.appendChild(P.failure(r));
      else draw(b, r.data);
      return r;
    });
  }

  var DUE_SOON_MS = 7 * 24 * 3600 * 1000;
  function when(t) { return t ? new Date(t).toLocaleDateString() : "—"; }
  function whenTime(t) { return t ? new Date(t).toLocaleString() : "—"; }
  function pct(x) { return x === null || x === undefined ? "—" : Math.round(x * 1000) / 10 + "%"; }
  function items(d) { return Array.isArray(d) ? d : (d && (d.items || d.rows)) || []; }
  function purposeTitle(id) {
    var p = policy && policy.purposes.filter(function (x) { return x.purpose === id; })[0];
    return p ? p.title : id;
  }
  /** Fills a purpose selector; marketing purposes (those with a channel) come first. */
  function fillPurposes(select, onlyMarketing) {
    var keep = select.value;
    P.clear(select);
    var all = policy ? policy.purposes.slice() : [];
    all.sort(function (a, b) { return (b.channel ? 1 : 0) - (a.channel ? 1 : 0); });
    all.filter(function (p) { return !onlyMarketing || p.channel; }).forEach(function (p) {
      select.appendChild(el("option", { value: p.purpose, text: p.title + (p.channel ? " (" + p.channel + ")" : "") }));
    });
    if (keep) select.value = keep;
  }

  // ------------------------------------------------------------------ data map

  function dataMap() {
    return section("data-map", "The data map", "/v1/policy/data-map", function (b, d) {
      policy = d;
      b.appendChild(el("p", { class: "muted", text: d.controller + " · " + d.contact + " · policy " + d.policy_version }));
      b.appendChild(table(["Purpose", "Legal basis", "Retention", "Data categories", "Collected from"],
        d.purposes.map(function (p) {
          var flags = [p.sale_or_sharing ? "sale or sharing" : "", p.session_only ? "this visit only" : "", p.channel ? "channel: " + p.channel : ""].filter(Boolean);
          return [
            el("div", {}, [el("strong", { text: p.title }), el("div", { class: "muted", text: p.text }), flags.length ? el("div", { text: flags.join(", ") }) : null]),
            words(p.legal_basis),
            p.retention_days + " days",
            p.categories,
            p.collected_from
          ];
        })));
      fillPurposes($("rule-purpose"), false);
      fillPurposes($("campaign-purpose"), true);
      lint();
    });
  }

  // ------------------------------------------------------------------ consent rates

  var consentData = null;
  function consentRates() {
    var bucket = $("consent-bucket").value;
    return section("consent-rates", "Consent rates", "/v1/stats/consent?bucket=" + bucket, function (b, d) {
      consentData = d;
      var sel = $("consent-purpose");
      var keep = sel.value;
      P.clear(sel);
      d.purposes.forEach(function (p) { sel.appendChild(el("option", { value: p.purpose, text: p.title })); });
      if (keep) sel.value = keep;
      drawConsent(b);
    });
  }

  function drawConsent(b) {
    var d = consentData;
    if (!d) return;
    b = b || body("consent-rates");
    b.appendChild(el("p", { class: "muted", text: "From the consent ledger. Counts of people below k = " + d.k + " are shown as \u201cfewer than " + d.k + "\u201d." }));
    b.appendChild(C.bars("People who allow each purpose now", d.purposes.map(function (p) {
      var c = p.current;
      var share = p.current.granted_share;
      return share === null || share === undefined
        ? { label: p.title, value: 0, exact: false, text: "granted: " + c.granted + " of " + c.subjects }
        : { label: p.title, value: share, text: pct(share) + " (" + c.granted + " of " + c.subjects + ")" };
    })));
    var p = d.purposes.filter(function (x) { return x.purpose === $("consent-purpose").value; })[0] || d.purposes[0];
    if (!p) return;
    var starts = p.buckets.map(function (x) { return x.start; });
    var fig = C.columns("Decisions about \u201c" + p.title + "\u201d per " + d.bucket, starts, [
      { name: "granted", values: p.buckets.map(function (x) { return x.granted; }) },
      { name: "denied", values: p.buckets.map(function (x) { return x.denied; }) },
      { name: "withdrawn", values: p.buckets.map(function (x) { return x.withdrawn; }) }
    ]);
    fig.id = "consent-chart";
    fig.setAttribute("data-purpose", p.purpose);
    b.appendChild(fig);
    b.appendChild(el("details", {}, [
      el("summary", { text: "The numbers, per " + d.bucket }),
      table(["From", "Granted", "Denied", "Withdrawn"], p.buckets.slice().reverse().map(function (x) {
        return [x.start, String(x.granted), String(x.denied), String(x.withdrawn)];
      }))
    ]));
  }

  // ------------------------------------------------------------------ drops and DSR

  function drops() {
    return section("drops", "Drop counts", "/v1/stats/drops?days=30", function (b, d) {
      var byReason = {};
      items(d).forEach(function (r) { byReason[r.reason] = (byReason[r.reason] || 0) + r.count; });
      var reasons = Object.keys(byReason).sort(function (a, c) { return byReason[c] - byReason[a]; });
      if (!reasons.length) { b.appendChild(el("p", { class: "muted", text: "No events were dropped in the last 30 days." })); return; }
      b.appendChild(C.bars("Events not stored in the last 30 days, by reason", reasons.map(function (r) { return { label: words(r), value: byReason[r] }; })));
      b.appendChild(table(["Reason", "Events"], reasons.map(function (r) { return [words(r), String(byReason[r])]; })));
    });
  }

  function dsr() {
    return section("dsr", "The data-subject request queue", "/v1/dsr?limit=100", function (b, d) {
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
      b.appendChild(C.bars("Requests by kind", Object.keys(byKind).sort().map(function (k) { return { label: words(k), value: byKind[k] }; })));
      b.appendChild(el("h3", { text: "Queue, newest first" }));
      b.appendChild(table(["Request", "Kind", "Person (keyed hash)", "Received", "Deadline", "Status"], rows.map(function (r) {
        var state = r.completed_at ? "completed " + when(r.completed_at) : r.overdue ? "OVERDUE" : words(r.status);
        return [String(r.id), words(r.kind), el("code", { text: r.subject_ref.slice(0, 12) + "…", title: r.subject_ref }),
          when(r.received_at), when(r.deadline_at) + " (" + r.jurisdiction + ")", el("span", { class: r.overdue ? "error" : "", text: state })];
      })));
      b.querySelectorAll("tbody tr").forEach(function (tr, i) { tr.setAttribute("data-kind", rows[i].kind); tr.setAttribute("data-status", rows[i].status); });
    });
  }

  // ------------------------------------------------------------------ audit log

  var auditCursors = [null]; // cursor of each page seen; the last one is the page shown
  function verifyAudit() {
    var out = P.clear($("audit-status"));
    out.appendChild(el("p", { class: "muted", text: "Verifying the chain…" }));
    return api("GET", "/v1/audit/verify").then(function (r) {
      P.clear(out);
      if (r.missing) { out.appendChild(P.unavailable("Audit chain verification")); return; }
      if (!r.ok) { out.appendChild(P.failure(r)); return; }
      var d = r.data;
      out.setAttribute("data-state", d.ok ? "verified" : "broken");
      if (d.ok) {
        out.appendChild(el("p", { class: "ok", text: "Verified: all " + d.entries + " entries hash and link in order. Head " + d.head.slice(0, 16) + "…" , title: d.head }));
      } else {
        out.appendChild(el("p", { class: "error", role: "alert",
          text: "The audit chain does not verify: the first bad entry is " + d.first_bad.seq + " (" + d.first_bad.reason + "). " + d.entries + " entries read." }));
      }
    });
  }

  function auditPage() {
    var cursor = auditCursors[auditCursors.length - 1];
    var path = "/v1/audit?limit=" + AUDIT_PAGE_LEN + (cursor ? "&cursor=" + enc(cursor) : "");
    return section("audit", "The audit log", path, function (b, d) {
      var rows = items(d);
      $("audit-page").textContent = rows.length ? "Entries " + rows[0].seq + " to " + rows[rows.length - 1].seq + ", oldest first" : "No entries yet.";
      $("audit-next").disabled = !d.next_cursor;
      $("audit-next").setAttribute("data-cursor", d.next_cursor || "");
      $("audit-first").disabled = auditCursors.length === 1;
      if (!rows.length) return;
      var t = table(["Seq", "Time", "Actor", "Action", "Target", "Purpose", "Details"], rows.map(function (e) {
        var details = Object.keys(e.details).map(function (k) { return words(k) + ": " + e.details[k]; }).join(", ");
        return [String(e.seq), whenTime(e.at), e.actor, words(e.action),
          el("code", { text: e.target.length > 20 ? e.target.slice(0, 20) + "…" : e.target, title: e.target }), e.purpose || "—", details || "—"];
      }));
      t.className = "compact";
      b.appendChild(el("div", { class: "table-scroll" }, [t]));
    });
  }
  $("audit-verify").addEventListener("click", verifyAudit);
  $("audit-next").addEventListener("click", function () {
    var next = $("audit-next").getAttribute("data-cursor");
    if (!next) return;
    auditCursors.push(next);
    auditPage();
  });
  $("audit-first").addEventListener("click", function () { auditCursors = [null]; auditPage(); });

  // ------------------------------------------------------------------ segments

  var segmentList = [];
  function segments() {
    return section("segments", "Segments", "/v1/segments", function (b, d) {
      segmentList = items(d);
      var sel = $("campaign-segment");
      var keep = sel.value;
      P.clear(sel);
      segmentList.forEach(function (s) { sel.appendChild(el("option", { value: s.id, text: s.name + " (" + s.id + ")" })); });
      if (keep) sel.value = keep;
      if (!segmentList.length) { b.appendChild(el("p", { class: "muted", text: "No segments yet." })); return; }
      b.appendChild(table(["Segment", "Purpose", "Rule", "Size now"], segmentList.map(function (s) {
        var size = el("div", { id: "preview-" + s.id, class: "preview", "aria-live": "polite" });
        var btn = el("button", { type: "button", class: "secondary", "aria-label": "Preview the size of " + s.name, text: "Preview size",
          onclick: function () { preview(s, size); } });
        var warnings = (s.warnings || []).map(function (w) { return el("div", { class: "warning", text: "Line " + w.line + ", column " + w.column + ": " + w.message }); });
        return [el("div", {}, [el("strong", { text: s.name }), el("div", { class: "muted", text: s.id })]), purposeTitle(s.purpose),
          el("div", {}, [el("code", { text: s.rule })].concat(warnings)), el("div", {}, [btn, size])];
      })));
    });
  }

  function preview(s, out) {
    P.clear(out).appendChild(el("span", { class: "muted", text: "Counting…" }));
    return api("GET", "/v1/segments/" + enc(s.id) + "/preview").then(function (r) {
      P.clear(out);
      if (r.missing) { out.appendChild(P.unavailable("Size previews")); return; }
      if (!r.ok) { out.appendChild(P.failure(r)); return; }
      var suppressed = typeof r.data.size !== "number";
      out.setAttribute("data-preview", suppressed ? "suppressed" : "exact");
      out.appendChild(el("p", { class: suppressed ? "muted" : "ok",
        text: suppressed ? r.data.size + " people (sizes below k = " + r.data.k + " are not shown)" : r.data.size + " people" }));
    });
  }

  /** The rule's line with a caret under the column, as a compiler would show it. */
  function excerpt(rule, line, column) {
    var text = rule.split("\n")[line - 1];
    if (text === undefined) return null;
    return el("pre", { "aria-hidden": "true", text: text + "\n" + new Array(Math.max(0, column - 1) + 1).join(" ") + "^" });
  }

  function findings(list, rule, severity) {
    return list.map(function (p) {
      var li = el("li", { class: severity, "data-code": p.code, "data-line": String(p.line), "data-column": String(p.column) }, [
        el("span", { class: "pos", text: p.line + ":" + p.column }), " ",
        (severity === "warning" ? "Warning: " : "") + p.message + " (line " + p.line + ", column " + p.column + ")",
        excerpt(rule, p.line, p.column)
      ]);
      return li;
    });
  }

  var lintTimer = null;
  var lintSeq = 0;
  function lint() {
    var seq = ++lintSeq;
    var out = $("lint");
    var rule = $("rule").value;
    var purpose = $("rule-purpose").value;
    if (!purpose) return Promise.resolve();
    return api("POST", "/v1/segments/lint", { rule: rule, purpose: purpose }).then(function (r) {
      if (seq !== lintSeq) return; // a newer keystroke's answer wins
      P.clear(out);
      if (r.missing) { out.appendChild(P.unavailable("Live rule checking")); return; }
      if (!r.ok) { out.appendChild(P.failure(r)); return; }
      var d = r.data;
      $("rule").setAttribute("aria-invalid", d.ok ? "false" : "true");
      out.setAttribute("data-state", d.ok ? (d.warnings.length ? "warnings" : "clean") : "errors");
      if (d.ok && !d.warnings.length) { out.appendChild(el("p", { class: "ok", text: "No problems found." })); return; }
      out.appendChild(el("ul", { class: "lint-list" }, findings(d.errors, rule, "error").concat(findings(d.warnings, rule, "warning"))));
    });
  }
  $("rule").addEventListener("input", function () {
    clearTimeout(lintTimer);
    lintTimer = setTimeout(lint, LINT_DELAY_MS);
  });
  $("rule-purpose").addEventListener("change", lint);

  /** Shows an API error next to the field it is about (`data-field`), or in `status`. */
  function fieldError(form, status, field, message) {
    form.querySelectorAll(".field-error").forEach(function (n) { n.parentNode.removeChild(n); });
    form.querySelectorAll("[aria-invalid=true]").forEach(function (n) { if (n.id !== "rule") n.removeAttribute("aria-invalid"); });
    var input = field && form.querySelector("[data-field=" + field + "]");
    if (!input) { P.clear(status).appendChild(el("p", { class: "error", role: "alert", text: message })); return; }
    P.clear(status);
    var id = input.id + "-error";
    var note = el("p", { class: "field-error", id: id, role: "alert", text: message });
    input.setAttribute("aria-invalid", "true");
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
    input.setAttribute("aria-describedby", described.concat([id]).join(" "));
    input.parentNode.insertBefore(note, input.nextSibling);
    input.focus();
  }

  $("segment-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = $("segment-form");
    $("segment-id").setAttribute("data-field", "id");
    $("segment-name").setAttribute("data-field", "name");
    $("rule").setAttribute("data-field", "rule");
    var payload = { id: $("segment-id").value.trim(), name: $("segment-name").value.trim(), purpose: $("rule-purpose").value, rule: $("rule").value };
    api("POST", "/v1/segments", payload).then(function (r) {
      if (!r.ok) {
        var code = r.data && r.data.error && r.data.error.code;
        var field = { invalid_id: "id", segment_exists: "id", invalid_segment_name: "name" }[code] || (r.status === 422 ? "rule" : null);
        fieldError(form, $("segment-status"), field, r.message);
        return;
      }
      fieldError(form, $("segment-status"), null, "");
      P.clear($("segment-status")).appendChild(el("p", { class: "ok", text: "Saved segment \u201c" + r.data.name + "\u201d." }));
      segments().then(function () {
        var out = $("preview-" + r.data.id);
        if (out) preview(r.data, out);
      });
    });
  });

  // ------------------------------------------------------------------ campaigns

  /** Which form field an API error code is about. */
  var CAMPAIGN_FIELDS = {
    invalid_id: "id", campaign_exists: "id", unknown_segment: "segment", invalid_channel: "channel",
    unknown_purpose: "purpose", purpose_channel_mismatch: "purpose", invalid_template: "template",
    holdout_too_large: "holdout_percent", invalid_send_at: "send_at", invalid_cap: "cap"
  };

  function campaigns() {
    return section("campaigns", "Campaigns", "/v1/campaigns", function (b, d) {
      var rows = items(d);
      if (!rows.length) { b.appendChild(el("p", { class: "muted", text: "No campaigns yet." })); return; }
      b.appendChild(table(["Campaign", "Channel", "Segment", "Purpose", "Created", ""], rows.map(function (c) {
        return [c.id, c.channel, c.segment, purposeTitle(c.purpose), when(c.created_at),
          el("button", { type: "button", class: "secondary", "aria-label": "Open campaign " + c.id, text: "Open",
            onclick: function () { openCampaign(c.id); } })];
      })));
    });
  }

  function openCampaign(id) {
    var box = P.clear($("campaign-detail"));
    box.hidden = false;
    box.className = "detail";
    box.setAttribute("data-campaign", id);
    var h = el("h3", { id: "campaign-detail-h", tabindex: "-1", text: "Campaign " + id });
    box.appendChild(h);
    var info = el("div", { id: "campaign-info", "data-state": "loading", "aria-busy": "true" },
      [el("p", { class: "muted", text: "Loading…" })]);
    var run = el("div", { id: "campaign-run", "aria-live": "polite" });
    var fair = el("div", { id: "campaign-fairness" });
    box.appendChild(info);
    box.appendChild(el("div", { class: "row" }, [
      el("button", { type: "button", id: "campaign-dry-run", text: "Dry run", onclick: function () { dryRun(id, run); } }),
      el("span", { class: "muted", text: "Decides everyone now and counts why people would be left out; nothing is recorded or sent." })
    ]));
    box.appendChild(run);
    box.appendChild(el("h4", { text: "Fairness report" }));
    box.appendChild(fair);
    h.focus();
    api("GET", "/v1/campaigns/" + enc(id)).then(function (r) {
      P.clear(info);
      info.setAttribute("data-state", "done");
      info.removeAttribute("aria-busy");
      if (!r.ok) { info.appendChild(P.failure(r)); return; }
      var c = r.data;
      var shown = { segment: c.segment, channel: c.channel, purpose: purposeTitle(c.purpose), message: c.template,
        send_at: c.send_at || "as soon as it is run", control_group: c.holdout_percent + "%",
        restricted_categories: c.restricted_categories.length ? c.restricted_categories.join(", ") : "none",
        own_cap: c.cap ? c.cap.max + " per " + c.cap.window_days + " days" : "none beyond the channel's", created: whenTime(c.created_at) };
      info.appendChild(P.render(shown));
    });
    campaignFairness(id, fair);
  }

  function dryRun(id, out) {
    P.clear(out).appendChild(el("p", { class: "muted", text: "Running…" }));
    return api("POST", "/v1/campaigns/" + enc(id) + "/run?dry_run=true").then(function (r) {
      P.clear(out);
      if (!r.ok) { out.appendChild(P.failure(r)); return; }
      var d = r.data;
      out.setAttribute("data-state", "done");
      out.appendChild(el("p", { text: "Of " + d.total + " people, " + d.selected + " would be sent the message. Counts below k = " + d.k +
        " are shown as \u201cfewer than " + d.k + "\u201d, and a count that would reveal one by subtraction as \u201cwithheld\u201d." }));
      var reasons = Object.keys(d.excluded);
      var rows = [{ code: "selected", label: "selected", v: d.selected }].concat(reasons.map(function (k) { return { code: k, label: "excluded: " + words(k), v: d.excluded[k] }; }));
      out.appendChild(C.bars("Dry run of " + id + ": who would be selected, and why the others would not", rows.map(function (x) {
        var c = C.count(x.v);
        return { label: x.label, value: c.value, exact: c.exact, text: c.text };
      })));
      var t = table(["Outcome", "People"], rows.map(function (x) { return [x.label, String(x.v)]; }));
      t.id = "campaign-run-table";
      t.querySelectorAll("tbody tr").forEach(function (tr, i) { tr.setAttribute("data-reason", rows[i].code); });
      out.appendChild(t);
    });
  }

  $("campaign-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = $("campaign-form");
    var holdout = $("campaign-holdout").value.trim();
    if (holdout && !/^\d+$/.test(holdout)) { fieldError(form, $("campaign-status"), "holdout_percent", "The control group is a whole number of percent, 0 to 50."); return; }
    var payload = {
      id: $("campaign-id").value.trim(), segment: $("campaign-segment").value, channel: $("campaign-channel").value,
      purpose: $("campaign-purpose").value, template: $("campaign-template").value, holdout_percent: holdout ? Number(holdout) : 0
    };
    var sendAt = $("campaign-send-at").value.trim();
    if (sendAt) payload.send_at = sendAt;
    api("POST", "/v1/campaigns", payload).then(function (r) {
      if (!r.ok) {
        var code = r.data && r.data.error && r.data.error.code;
        fieldError(form, $("campaign-status"), CAMPAIGN_FIELDS[code] || (/^(syntax_error|unknown_feature|type_error|sensitive_category|protected_category|category_not_allowed)$/.test(code) ? "segment" : null), r.message);
        return;
      }
      fieldError(form, $("campaign-status"), null, "");
      P.clear($("campaign-status")).appendChild(el("p", { class: "ok", text: "Created campaign " + r.data.id + "." }));
      campaigns().then(function () { openCampaign(r.data.id); });
    });
  });

  // ------------------------------------------------------------------ fairness

  /** A group-fairness report (the same shape for slots and campaigns). */
  function groupReport(report) {
    var out = el("div", {});
    out.appendChild(el("p", { class: report.flagged ? "error" : "ok",
      text: (report.flagged ? "Flagged: a group's selection rate is below four fifths of another's. " : "Not flagged. ") + report.n_audited + " people with audit attributes." }));
    (report.by_attribute || []).forEach(function (a) {
      out.appendChild(el("h5", { text: a.title + (a.four_fifths_flag ? " — below four fifths" : "") }));
      out.appendChild(table(["Group", "People", "Selected", "Selection rate", "95% interval"], a.groups.map(function (g) {
        return g.suppressed ? [g.label, "fewer than " + a.k_min, "—", "—", "—"]
          : [g.label, String(g.n), String(g.n_selected), pct(g.selection_rate), g.selection_rate_ci ? pct(g.selection_rate_ci[0]) + " – " + pct(g.selection_rate_ci[1]) : "—"];
      })));
      out.appendChild(el("p", { class: "muted", text: "Parity ratio between groups: " + (a.between_groups.demographic_parity_ratio === null ? "—" : a.between_groups.demographic_parity_ratio.toFixed(2)) +
        "; " + a.n_suppressed + " groups below " + a.k_min + " not shown; " + a.n_undeclared + " people did not declare." }));
    });
    if (!(report.by_attribute || []).length) out.appendChild(el("p", { class: "muted", text: "No audit attributes to measure yet." }));
    return out;
  }

  function campaignFairness(id, out) {
    P.clear(out).appendChild(el("p", { class: "muted", text: "Loading…" }));
    return api("GET", "/v1/fairness/campaigns/" + enc(id)).then(function (r) {
      P.clear(out);
      if (r.missing) { out.appendChild(P.unavailable("Campaign fairness reports")); return; }
      if (r.status === 404) { out.appendChild(el("p", { class: "muted", text: "No report yet: the campaign has not been run." })); return; }
      if (!r.ok) { out.appendChild(P.failure(r)); return; }
      var d = r.data;
      out.appendChild(el("p", { class: "muted", text: "Run " + d.run + (d.held ? " · deliveries held until acknowledged" : "") }));
      out.appendChild(groupReport(d.report));
      if (d.acknowledged) {
        out.appendChild(el("p", { class: "note", text: "Acknowledged " + whenTime(d.acknowledged.at) + ": " + d.acknowledged.note }));
      } else if (d.flagged) {
        out.appendChild(acknowledgeForm(id, function () { campaignFairness(id, out); flags(); }));
      }
    });
  }

  function acknowledgeForm(id, done) {
    var noteId = "ack-note-" + id;
    var status = el("div", { role: "status" });
    var form = el("form", { class: "row" }, [
      el("label", { for: noteId, text: "Why this is acceptable, or what was changed" }),
      el("input", { type: "text", id: noteId, size: "40", required: true }),
      el("button", { type: "submit", text: "Acknowledge" }), status
    ]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var note = $(noteId).value.trim();
      if (!note) { P.clear(status).appendChild(el("p", { class: "error", role: "alert", text: "Write a note first." })); return; }
      api("POST", "/v1/fairness/campaigns/" + enc(id) + "/acknowledge", { note: note }).then(function (r) {
        if (r.missing) { P.clear(status).appendChild(P.unavailable("Acknowledging a flag")); return; }
        if (!r.ok) { P.clear(status).appendChild(P.failure(r)); return; }
        done();
      });
    });
    return form;
  }

  function flags() {
    return section("fairness", "Fairness flags", "/v1/fairness/flags", function (b, d) {
      var rows = (d && d.flags) || [];
      if (!rows.length) { b.appendChild(el("p", { class: "ok", text: "Nothing is flagged." })); return; }
      b.appendChild(table(["Kind", "Campaign or slot", "Run", "Parity ratio", "Flagged", "Status"], rows.map(function (f) {
        var status = f.acknowledged ? "acknowledged " + when(f.acknowledged.at) + ": " + f.acknowledged.note : f.held ? "held until acknowledged" : "open";
        var name = f.kind === "campaign"
          ? el("button", { type: "button", class: "secondary", text: f.id, "aria-label": "Open campaign " + f.id, onclick: function () { openCampaign(f.id); $("campaigns").scrollIntoView(); } })
          : f.id;
        return [f.kind, name, f.run || "—", f.parity_ratio === null || f.parity_ratio === undefined ? "—" : Number(f.parity_ratio).toFixed(2), whenTime(f.flagged_at),
          el("span", { class: f.acknowledged ? "muted" : "error", text: status })];
      })));
    });
  }

  $("slot-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var out = P.clear($("slot-report"));
    var slot = $("slot-name").value.trim();
    if (!slot) return;
    out.appendChild(el("p", { class: "muted", text: "Loading…" }));
    api("GET", "/v1/fairness/slots/" + enc(slot)).then(function (r) {
      P.clear(out);
      if (r.missing) { out.appendChild(P.unavailable("Slot fairness reports")); return; }
      if (!r.ok) { out.appendChild(P.failure(r)); return; }
      var d = r.data;
      if (d.empty) { out.appendChild(el("p", { class: "muted", text: "Nothing was shown in slot \u201c" + d.slot + "\u201d since " + when(d.since) + "." })); return; }
      out.appendChild(el("p", { text: d.n_exposures + " recommendations shown to " + d.n_exposed_subjects + " people since " + when(d.since) +
        "; catalog coverage " + pct(d.items.coverage) + ", Gini " + (d.items.gini === null ? "—" : d.items.gini.toFixed(2)) + "." }));
      out.appendChild(groupReport(d.people));
    });
  });

  // ------------------------------------------------------------------ experiments

  function num(x) { return typeof x === "number" ? x.toFixed(4) : "—"; }

  function experiments() {
    return section("experiments", "Experiments", "/v1/experiments", function (b, d) {
      var rows = items(d);
      if (!rows.length) { b.appendChild(el("p", { class: "muted", text: "No experiments yet." })); return; }
      b.appendChild(table(["Id", "Name", "Target", "Status", "Created", ""], rows.map(function (x) {
        var t = x.definition.target || {};
        return [x.id, x.definition.name, (t.kind || "") + " " + (t.id || ""), x.status, when(x.created_at),
          el("button", { type: "button", class: "secondary", "data-experiment": x.id, text: "Report", onclick: function () { experimentReport(x.id); } })];
      })));
    });
  }

  function experimentReport(id) {
    var out = P.clear($("experiment-report"));
    out.removeAttribute("data-state");
    out.setAttribute("data-experiment", id);
    out.appendChild(el("p", { class: "muted", text: "Loading…" }));
    api("GET", "/v1/experiments/" + enc(id) + "/report").then(function (r) {
      P.clear(out);
      if (r.missing) { out.appendChild(P.unavailable("Experiment reports")); return; }
      if (!r.ok) { out.appendChild(P.failure(r)); return; }
      var d = r.data;
      out.appendChild(el("h3", { text: d.name + " (control: " + d.control + ")" }));
      var srm = d.srm.status === "checked"
        ? (d.srm.flagged ? "Sample ratio mismatch (p = " + num(d.srm.p_value) + "): the split is not as allocated; do not trust the effects." : "Sample ratio as allocated (p = " + num(d.srm.p_value) + ").")
        : "Sample ratio: " + words(d.srm.status) + ".";
      out.appendChild(el("p", { "data-srm": d.srm.status, text: srm }));
      var effects = [];
      d.metrics.forEach(function (m) {
        out.appendChild(el("h4", { text: m.name + " (" + words(m.kind) + " of " + m.event_type + ", " + (m.role === "primary" ? "primary" : "guardrail") + ")" }));
        out.appendChild(table(["Arm", "People", "Mean"], m.arms.map(function (a) { return [a.arm, String(a.n), num(a.mean)]; })));
        out.appendChild(table(["Arm vs control", "Effect", "Interval", "Always-valid interval", "p (adjusted)"], m.comparisons.map(function (c) {
          if (c.status !== "estimated") return [c.arm, words(c.status), "—", "—", "—"];
          effects.push({ label: m.name + ": " + c.arm, effect: c.effect, low: c.ci_low, high: c.ci_high, avLow: c.always_valid_low, avHigh: c.always_valid_high });
          return [c.arm, num(c.effect), num(c.ci_low) + " to " + num(c.ci_high), num(c.always_valid_low) + " to " + num(c.always_valid_high), num(c.p_adjusted)];
        })));
      });
      if (effects.length) out.appendChild(C.intervals("Effects against the control with their intervals", effects));
      out.appendChild(el("h4", { text: "Guardrails" }));
      out.appendChild(d.guardrails.length
        ? table(["Metric", "Status"], d.guardrails.map(function (g) { return [g.metric, words(g.status)]; }))
        : el("p", { class: "muted", text: "None." }));
      out.setAttribute("data-state", "done");
    });
  }
  // ------------------------------------------------------------------ private analytics

  /** Releases a report on request only: each new release spends privacy budget. */
  function analytics() {
    var q = "?by=" + enc($("analytics-by").value);
    if ($("analytics-from").value) q += "&from=" + enc($("analytics-from").value);
    if ($("analytics-to").value) q += "&to=" + enc($("analytics-to").value);
    var family = $("analytics-family").value;
    return section("analytics", "Private analytics", "/v1/analytics/" + enc(family) + q, function (b, d) {
      var r = d.report;
      var left = d.budget.remaining.epsilon, per = d.budget.per_day.epsilon;
      b.appendChild(el("p", { text: r.consent_basis }));
      b.appendChild(el("p", { class: "muted", text: (d.repeated ? "Released earlier for the same request: nothing spent now. " : "") +
        "Spent ε = " + r.charged_per_day.epsilon + " per day covered; ε = " + left + " of " + per + " left. " +
        "A cell appears only when its noisy count of " + r.unit + " reaches " + r.selection_threshold + "." }));
      var periods = r.periods.filter(function (p) { return p.cells.length; });
      if (!periods.length) { b.appendChild(el("p", { class: "muted", text: "No cell reached the threshold in " + r.from + " to " + r.to + "." })); return; }
      var latest = periods[periods.length - 1];
      var fig = C.estimates(r.unit.charAt(0).toUpperCase() + r.unit.slice(1) + " per cell, from " + latest.start, latest.cells.map(function (c) {
        return { label: c.cell, value: c.people.value, low: c.people.ci95_low, high: c.people.ci95_high };
      }));
      fig.id = "analytics-chart";
      b.appendChild(fig);
      var range = function (x) { return x ? x.value + " (" + x.ci95_low + " to " + x.ci95_high + ")" : "—"; };
      b.appendChild(el("details", {}, [
        el("summary", { text: "Every period's numbers, with 95 % intervals" }),
        table(["From", "Cell", r.unit, "Events", "Revenue (minor units)", "Share"], [].concat.apply([], periods.map(function (p) {
          return p.cells.map(function (c) { return [p.start, c.cell, range(c.people), range(c.events), range(c.revenue_minor), pct(c.share)]; });
        })))
      ]));
    });
  }

  $("analytics-form").addEventListener("submit", function (e) {
    e.preventDefault();
    analytics();
  });

  // ------------------------------------------------------------------ start

  function dashboard() {
    $("signin").hidden = true;
    $("dashboard").hidden = false;
    $("session").hidden = false;
    dataMap();
    consentRates();
    drops();
    dsr();
    verifyAudit();
    auditPage();
    segments();
    campaigns();
    flags();
    experiments();
  }

  $("consent-bucket").addEventListener("change", consentRates);
  $("consent-purpose").addEventListener("change", function () { drawConsent(); });

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
