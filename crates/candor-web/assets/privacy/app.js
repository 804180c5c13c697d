/*
 * The privacy center. Opened from a personal link `/privacy/#token=cst_...&subject=ID`: the
 * shop's backend minted the subject token for this one person when they logged in, and it
 * lets this page reach that person's data and nobody else's. It travels in the fragment,
 * which browsers never send to any server, and is moved into this tab's sessionStorage at
 * once and dropped from the address bar, so it is not bookmarked or shared by accident.
 *
 * There is no other way in: without a valid link the page only says where to get one.
 */
(function () {
  "use strict";
  var P = window.CandorPage;
  var el = P.el;
  var SESSION = "candor.privacy.session";
  var EVENTS_SHOWN_MAX = 20;
  var RECS_SHOWN = 6;
  var NEW_LINK = " Please open the privacy center again from the shop (log in there if you need to): it gives you a new link.";

  function $(id) { return document.getElementById(id); }

  function fromFragment() {
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (!h.get("token")) return null;
    var s = { token: h.get("token"), subject: h.get("subject") };
    try { sessionStorage.setItem(SESSION, JSON.stringify(s)); } catch (e) { /* private mode: keep in memory */ }
    history.replaceState(null, "", location.pathname + location.search);
    return s;
  }
  function fromSession() {
    try { return JSON.parse(sessionStorage.getItem(SESSION)); } catch (e) { return null; }
  }
  function forgetSession() {
    try { sessionStorage.removeItem(SESSION); } catch (e) { /* nothing kept */ }
  }

  var session = fromFragment() || fromSession();
  var subject = session && session.subject;
  var token = session && session.token;
  var gpc = navigator.globalPrivacyControl === true;
  var current = null; // the last consent state from the server
  var deleted = false;
  var ended = false; // the link stopped working (or the person signed out): nothing more to load

  function base() { return "/v1/subjects/" + encodeURIComponent(subject); }

  var DATA_SECTIONS = ["purposes", "told-body", "inferred-body", "activity-body", "why-body", "tests-body"];
  var ACTIONS = ["pause-toggle", "download-btn", "delete-btn", "signout-btn"];

  /** Stops the page: says why (an error, or `ok` news such as signing out), hides the data. */
  function problem(text, ok) {
    ended = true;
    var box = $("session-problem");
    var p = el("p", { class: ok ? "note" : "error", role: ok ? "status" : "alert", tabindex: "-1", text: text });
    P.clear(box).appendChild(p);
    box.hidden = false;
    DATA_SECTIONS.forEach(function (id) { P.clear($(id)); });
    ACTIONS.forEach(function (id) { $(id).disabled = true; });
    return p;
  }

  if (!subject || !token) {
    problem("This page needs your personal link from the shop." + NEW_LINK);
    return;
  }
  $("gpc").hidden = !gpc;

  /** Calls the API with the person's token; answers that arrive after the page ended are dropped. */
  function api(method, path, body) {
    return P.api(method, path, token, body).then(function (r) {
      return ended ? new Promise(function () { /* the page has stopped: never settles */ }) : r;
    });
  }

  api("GET", "/v1/policy").then(function (r) {
    if (r.ok) $("controller").textContent = r.data.controller;
  });

  function when(t) { return t ? new Date(t).toLocaleString() : "—"; }
  function words(s) { return String(s).replace(/_/g, " "); }

  function table(caption, headers, rows) {
    return el("table", {}, [
      el("caption", { class: "sr-only", text: caption }),
      el("thead", {}, [el("tr", {}, headers.map(function (h) { return el("th", { scope: "col", text: h }); }))]),
      el("tbody", {}, rows.map(function (r) {
        return el("tr", {}, r.map(function (c) { return el("td", {}, [typeof c === "string" ? c : c]); }));
      }))
    ]);
  }

  /** Why a refused link stopped working, in plain words. */
  var LINK_PROBLEMS = {
    token_expired: "Your link has expired: links to the privacy center work for a short time only, so nobody else can use an old one.",
    token_revoked: "Your link no longer works: you signed out everywhere, which ended every link given out for you until then.",
    token_wrong_subject: "This link is not valid for this page: it belongs to someone else's privacy center."
  };

  /** Refused because the link expired, was revoked or is someone else's: say so once, stop. */
  function refused(r) {
    if (r.status === 401 || r.code === "token_wrong_subject") {
      forgetSession();
      problem((LINK_PROBLEMS[r.code] || "This link is not valid any more.") + NEW_LINK);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ choices

  function renderChoices(state) {
    current = state;
    var box = P.clear($("purposes"));
    state.purposes.forEach(function (p) {
      var id = "purpose-" + p.purpose;
      var control;
      if (p.status === "not_required") {
        control = el("span", { class: "always", text: "Always on (" + words(p.legal_basis) + ")" });
      } else {
        var input = el("input", { type: "checkbox", role: "switch", id: id, "data-purpose": p.purpose,
          "aria-describedby": id + "-text " + id + "-reason" });
        input.checked = p.allowed;
        input.disabled = deleted;
        input.addEventListener("change", function () { toggle(p, input); });
        control = el("label", { class: "switch", for: id }, [input, el("span", { class: "sr-only", text: p.title })]);
        control.appendChild(el("span", { "aria-hidden": "true", text: p.allowed ? "On" : "Off" }));
      }
      box.appendChild(el("div", { class: "purpose", "data-purpose": p.purpose, "data-status": p.status }, [
        el("div", {}, [
          el("div", { class: "title", id: id + "-title", text: p.title }),
          el("div", { id: id + "-text", text: p.text }),
          el("div", { class: "reason", id: id + "-reason", text: "Now: " + p.reason + (p.since ? " (" + when(p.since) + ")" : "") })
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
    api("PUT", base() + "/consents", body).then(function (r) {
      if (!r.ok) {
        input.checked = !on;
        input.disabled = false;
        if (!refused(r)) P.clear($("choices-status")).appendChild(P.failure(r));
        return;
      }
      renderChoices(r.data);
      var now = r.data.purposes.filter(function (x) { return x.purpose === p.purpose; })[0];
      $("choices-status").textContent = "Saved: " + p.title + " is now " + (now && now.allowed ? "on" : "off") + ".";
      var again = document.getElementById("purpose-" + p.purpose);
      if (again) again.focus();
      loadHistory();
      loadRecommendations();
    });
  }

  function loadChoices() {
    return api("GET", base() + "/consents").then(function (r) {
      if (r.ok) renderChoices(r.data);
      else if (!refused(r)) P.clear($("purposes")).appendChild(P.failure(r));
    });
  }

  // ------------------------------------------------------------------ what we hold

  var facts = el("div");
  var choiceHistory = el("div");

  function titleOf(purpose) {
    var p = current && current.purposes.filter(function (x) { return x.purpose === purpose; })[0];
    return p ? p.title : purpose;
  }

  function loadHistory() {
    return api("GET", base() + "/consents/history?limit=20").then(function (r) {
      P.clear(choiceHistory).appendChild(el("h3", { text: "Your consent choices" }));
      if (r.missing) { choiceHistory.appendChild(P.unavailable("Your choice history")); return; }
      if (!r.ok) { choiceHistory.appendChild(P.failure(r)); return; }
      if (!r.data.items.length) { choiceHistory.appendChild(el("p", { class: "muted", text: "You have not made any choices yet." })); return; }
      choiceHistory.appendChild(table("Your consent choices, newest first", ["When", "Purpose", "Choice", "How"],
        r.data.items.map(function (h) {
          return [when(h.at), titleOf(h.purpose), h.decision, h.source + (h.bulk ? " (all at once)" : "")];
        })));
    });
  }

  function renderFacts(provided) {
    P.clear(facts).appendChild(el("h3", { text: "Details you gave us" }));
    var s = provided.subject || {};
    var rows = [];
    if (s.age_band) rows.push(["Age", words(s.age_band)]);
    if (s.country) rows.push(["Country", s.country]);
    Object.keys(provided.contact || {}).forEach(function (k) { rows.push([words(k), provided.contact[k]]); });
    if (s.first_seen) rows.push(["First seen", when(s.first_seen)]);
    if (!rows.length) { facts.appendChild(el("p", { class: "muted", text: "You have not given us any details." })); return; }
    facts.appendChild(el("dl", { class: "kv", id: "told-facts" }, rows.reduce(function (acc, r) {
      return acc.concat([el("dt", { text: r[0] }), el("dd", { text: String(r[1]) })]);
    }, [])));
  }

  function renderInferred(inferred) {
    var box = P.clear($("inferred-body"));
    var interests = inferred.interests || [];
    if (!interests.length) {
      box.appendChild(el("p", { class: "muted", id: "no-interests", text: "We have not inferred any interests about you." }));
    } else {
      box.appendChild(el("ul", { id: "interests", class: "plain" }, interests.map(function (i) {
        var pct = Math.round(i.share * 100);
        return el("li", { class: "interest row", "data-category": i.category }, [
          el("span", { text: i.category + " — " + pct + "% of what you looked at" }),
          el("button", { type: "button", class: "secondary", "aria-label": "Remove the interest " + i.category,
            text: "Remove", onclick: function () { removeInterest(i.category); } })
        ]);
      })));
    }
    box.appendChild(el("p", { class: "muted", text: "Counted: " + (inferred.n_views || 0) + " views, " + (inferred.n_adds || 0) +
      " added to cart, " + (inferred.n_purchases || 0) + " purchases; last seen " + when(inferred.last_seen) + "." }));
    var muted = inferred.muted_interests || [];
    if (muted.length) box.appendChild(el("p", { id: "muted-interests", text: "Removed and muted: " + muted.join(", ") + "." }));
  }

  function renderActivity(events) {
    var box = P.clear($("activity-body"));
    if (!events.length) { box.appendChild(el("p", { class: "muted", id: "no-activity", text: "We hold no activity about you." })); return; }
    var recent = events.slice().sort(function (a, b) { return a.occurred_at < b.occurred_at ? 1 : -1; }).slice(0, EVENTS_SHOWN_MAX);
    box.appendChild(table("Your recent activity, newest first", ["When", "What", "Product", "Used for", "Deleted by"],
      recent.map(function (e) {
        return [when(e.occurred_at), e.event_type, e.item_id || "—", e.purposes.map(titleOf).join(", ") || "—",
          e.session_only ? "end of visit" : when(e.expires_at)];
      })));
    if (events.length > recent.length) box.appendChild(el("p", { class: "muted", text: (events.length - recent.length) + " older entries are in your download." }));
  }

  function renderTests(tests) {
    var box = P.clear($("tests-body"));
    if (!tests.length) { box.appendChild(el("p", { class: "muted", id: "no-tests", text: "You are not in any test." })); return; }
    box.appendChild(el("ul", { id: "tests-list", class: "plain" }, tests.map(function (t) {
      return el("li", { "data-experiment": t.experiment, "data-arm": t.arm }, [t.text + " (since " + when(t.assigned_at) + ")."]);
    })));
  }

  function loadHeld() {
    if (ended) return Promise.resolve();
    P.clear($("told-body")).appendChild(facts);
    $("told-body").appendChild(choiceHistory);
    loadHistory();
    return api("GET", base() + "/export").then(function (r) {
      if (r.status === 404) {
        // Nothing held (or no longer held) about this person.
        renderFacts({});
        renderInferred({});
        renderActivity([]);
        renderTests([]);
        return;
      }
      if (!r.ok) {
        if (refused(r)) return;
        P.clear(facts).appendChild(P.failure(r));
        return;
      }
      if (r.data.controller) $("controller").textContent = r.data.controller.name;
      renderFacts(r.data.provided || {});
      renderInferred(r.data.inferred || {});
      renderActivity((r.data.provided && r.data.provided.events) || []);
      renderTests((r.data.processing && r.data.processing.experiments) || []);
    });
  }

  function removeInterest(category) {
    api("DELETE", base() + "/interests/" + encodeURIComponent(category)).then(function (r) {
      var s = P.clear($("inferred-status"));
      if (!r.ok) { if (!refused(r)) s.appendChild(P.failure(r)); return; }
      s.appendChild(el("p", { class: "ok", text: "Removed " + category + ". It will not be inferred again." }));
      loadHeld();
      loadRecommendations();
    });
  }

  // ------------------------------------------------------------------ why these

  var preferences = null;

  function feedback(body, done) {
    return api("POST", base() + "/feedback", body).then(function (r) {
      if (r.ok) {
        preferences = r.data.preferences;
        renderPause();
      }
      if (done) done(r);
      return r;
    });
  }

  function renderMuted(box) {
    var muted = (preferences && preferences.muted_categories) || [];
    if (!muted.length) return;
    box.appendChild(el("h3", { text: "Categories you muted" }));
    box.appendChild(el("ul", { id: "muted-categories" }, muted.map(function (c) {
      return el("li", { class: "row", "data-category": c }, [
        el("span", { text: c }),
        el("button", { type: "button", class: "secondary", "aria-label": "Show " + c + " again", text: "Show again",
          onclick: function () {
            feedback({ action: "interested_again", category: c }, function (r) { whyStatus(r, "You will see " + c + " again."); loadRecommendations(); });
          } })
      ]);
    })));
  }

  function whyStatus(r, text) {
    var s = P.clear($("why-status"));
    if (r.ok) s.appendChild(el("p", { class: "ok", text: text }));
    else if (!refused(r)) s.appendChild(P.failure(r));
  }

  function loadRecommendations() {
    if (deleted || ended) return Promise.resolve();
    return api("GET", base() + "/recommendations?n=" + RECS_SHOWN).then(function (r) {
      var box = P.clear($("why-body"));
      if (r.missing) { box.appendChild(P.unavailable("Your recommendations")); return; }
      if (!r.ok) { if (!refused(r)) box.appendChild(P.failure(r)); return; }
      var d = r.data;
      box.appendChild(el("p", { id: "basis", class: "note", "data-personalized": String(d.personalized), "data-basis": d.basis.code },
        [el("strong", { text: d.personalized ? "Personalized for you. " : "Not personalized. " }), d.basis.message]));
      if (!d.items.length) {
        box.appendChild(el("p", { class: "muted", text: "There is nothing to recommend right now." }));
      } else {
        box.appendChild(el("ul", { id: "why-list" }, d.items.map(function (it) {
          var reasons = it.reasons.map(function (x) { return x.text; });
          var li = el("li", { class: "why-item", "data-item": it.id }, [
            el("strong", { text: it.title }),
            el("ul", {}, (reasons.length ? reasons : ["Popular with other shoppers."]).map(function (t) { return el("li", { text: t }); }))
          ]);
          var cat = it.categories && it.categories[0];
          if (cat) {
            li.appendChild(el("button", { type: "button", class: "secondary", "aria-label": "Mute the category " + cat,
              text: "Not interested in " + cat, onclick: function () {
                feedback({ action: "not_interested", category: cat }, function (r2) { whyStatus(r2, "Muted " + cat + ": you will not see it recommended."); loadRecommendations(); });
              } }));
          }
          return li;
        })));
      }
      renderMuted(box);
    });
  }

  // ------------------------------------------------------------------ pause

  function renderPause() {
    if (preferences) $("pause-toggle").checked = !!preferences.paused;
  }

  function loadPreferences() {
    return api("GET", base() + "/preferences").then(function (r) {
      if (r.ok) { preferences = r.data; renderPause(); }
    });
  }

  $("pause-toggle").addEventListener("change", function () {
    var t = $("pause-toggle");
    var want = t.checked;
    t.disabled = true;
    feedback({ action: want ? "pause_personalization" : "resume_personalization" }).then(function (r) {
      t.disabled = false;
      var s = P.clear($("pause-status"));
      if (r.ok) {
        s.appendChild(el("p", { class: "ok", text: want ? "Personalization is paused." : "Personalization is on again." }));
        loadRecommendations();
        return;
      }
      t.checked = !want;
      if (!refused(r)) s.appendChild(r.missing ? P.unavailable("Pausing personalization") : P.failure(r));
    });
  });

  // ------------------------------------------------------------------ download

  $("download-btn").addEventListener("click", function () {
    var s = P.clear($("download-status"));
    api("GET", base() + "/export").then(function (r) {
      if (r.status === 404) { s.appendChild(el("p", { class: "muted", text: "We hold no data about you." })); return; }
      if (!r.ok) { if (!refused(r)) s.appendChild(P.failure(r)); return; }
      var blob = new Blob([JSON.stringify(r.data, null, 2)], { type: "application/json" });
      var a = el("a", { href: URL.createObjectURL(blob), download: "my-data.json", text: "Save my-data.json again" });
      s.appendChild(el("p", { class: "ok" }, ["Your data is downloading as my-data.json. ", a]));
      a.click();
    });
  });

  // ------------------------------------------------------------------ delete

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

  function renderReceipt(s, signed) {
    var receipt = signed.receipt || signed;
    var deletedRows = receipt.deleted || {};
    var rows = Object.keys(deletedRows).map(function (k) { return [words(k), String(deletedRows[k])]; });
    var box = el("div", { id: "receipt", class: "note", tabindex: "-1" }, [
      el("h3", { text: "Your receipt" }),
      el("p", { text: "Request " + receipt.request_id + ", completed " + when(receipt.completed_at) + ". Keep it: it proves we deleted your data." }),
      rows.length ? table("What was deleted", ["Kind of data", "Entries deleted"], rows) : null
    ]);
    var file = new Blob([JSON.stringify(signed, null, 2)], { type: "application/json" });
    box.appendChild(el("p", {}, [el("a", { href: URL.createObjectURL(file), download: "erasure-receipt.json", text: "Save the signed receipt" })]));
    s.appendChild(box);
    box.focus();
  }

  $("delete-yes").addEventListener("click", function () {
    $("delete-yes").disabled = true;
    api("DELETE", base()).then(function (r) {
      $("delete-yes").disabled = false;
      var s = P.clear($("delete-status"));
      $("delete-confirm").hidden = true;
      $("delete-btn").setAttribute("aria-expanded", "false");
      if (r.missing) { s.appendChild(P.unavailable("Deleting your data")); return; }
      if (!r.ok) { if (!refused(r)) s.appendChild(P.failure(r)); return; }
      deleted = true;
      // Every link issued for the person ended with their data, this one too: show what is
      // left from here, without asking the server again.
      ended = true;
      forgetSession();
      s.appendChild(el("p", { class: "ok", text: "Your data has been deleted. This link has ended with it; to come back, open the privacy center again from the shop." }));
      renderReceipt(s, r.data);
      ACTIONS.forEach(function (id) { $(id).disabled = true; });
      P.clear($("purposes")).appendChild(el("p", { class: "muted", id: "choices-kept",
        text: "Your consent choices are kept as proof of what you allowed, without anything else about you." }));
      P.clear(choiceHistory);
      renderFacts({});
      renderInferred({});
      renderActivity([]);
      P.clear($("why-body")).appendChild(el("p", { class: "muted", text: "Your data is deleted; you see what everyone sees." }));
    });
  });

  // ------------------------------------------------------------------ sign out everywhere

  $("signout-btn").addEventListener("click", function () {
    var btn = $("signout-btn");
    btn.disabled = true;
    api("POST", base() + "/sessions/revoke").then(function (r) {
      var s = P.clear($("signout-status"));
      if (!r.ok) {
        btn.disabled = false;
        if (!refused(r)) s.appendChild(r.missing ? P.unavailable("Signing out everywhere") : P.failure(r));
        return;
      }
      forgetSession();
      var note = problem("You are signed out everywhere. This link no longer works, and neither does any other link or access to your " +
        "data given out for you until now, on any device. To come back, open the privacy center again from the shop.", true);
      note.focus();
    });
  });

  loadChoices().then(function () {
    if (ended) return;
    loadHeld();
    loadPreferences().then(loadRecommendations);
  });
})();
