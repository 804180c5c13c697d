/*
 * Candor JS SDK: consent banner, tracker and recommendation widget.
 *
 *   Candor.init({ endpoint: "https://candor.example", publishableKey: "cnd_pk_..." });
 *   Candor.page();
 *   Candor.track("Product Viewed", { product_id: "sku-1" });
 *   Candor.recommendations(element, { slot: "home", n: 4 });
 *   // With onClick, a click on an item also sends "Product Clicked" with the list's id, so
 *   // an experiment on the slot attributes it to the list that showed the item:
 *   Candor.recommendations(element, { slot: "home", n: 4, onClick: function (item) { ... } });
 *   // After your backend logged the person in and minted a subject token for them:
 *   Candor.login("user-42", "cst_...");
 *
 * What it holds: a publishable key (safe in a page: it can only start visitor sessions), the
 * visitor token Candor issues for this browser, and — when the shop's backend passes one — a
 * subject token for the logged-in person. Each opens one visitor's or one person's data and
 * nobody else's. Server keys (cnd_sk_...) open everyone's data and are refused here.
 *
 * Rules it keeps: nothing is sent for a purpose the person has not allowed; "Reject all" is
 * exactly as prominent as "Accept all"; no purpose is pre-ticked; Global Privacy Control keeps
 * sale and sharing off; nothing identifying is written to storage unless a purpose allows it.
 * No dependencies, no network access other than the configured Candor endpoint.
 */
(function (global) {
  "use strict";

  var VERSION = "0.2.0";
  // Limits, so a page that tracks in a loop cannot grow memory or flood the server.
  var QUEUE_LEN_MAX = 500;
  var BATCH_LEN_MAX = 50;
  var FLUSH_INTERVAL_MS = 1000;
  var REASONS_LEN_MAX = 5;
  // A stored visitor session this close to its expiry is renewed on start (same visitor).
  var RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

  var CHOICE_KEY = "candor.choice";
  var VISITOR_KEY = "candor.visitor";
  // Written by earlier versions; removed wherever this version writes its own.
  var OLD_KEYS = ["candor.anonymousId", "candor.userId"];
  var SERVER_KEY_REFUSED = "Candor.init takes a publishable key (cnd_pk_...); server keys must stay on your backend";

  // Which purposes each event type serves, as in the default policy. A site with its own
  // policy passes `eventPurposes`; a server whose /v1/policy lists event types overrides both.
  var DEFAULT_EVENT_PURPOSES = {
    "Page Viewed": ["analytics", "personalization", "session_personalization"],
    "Product Viewed": ["analytics", "personalization", "session_personalization", "targeted_advertising"],
    "Product Clicked": ["analytics", "personalization", "session_personalization"],
    "Product Added": ["analytics", "personalization", "session_personalization"],
    "Order Completed": ["analytics", "personalization", "email_marketing", "order_fulfilment"],
    "Products Searched": ["analytics", "personalization", "session_personalization"],
    "Product Rated": ["personalization"],
    // Linking a visitor to an account is itself personal data processing.
    "Identify": ["personalization", "email_marketing"]
  };

  var cfg = null;
  var policy = null;
  var allowed = {}; // purpose id -> true when the person's choice (or the law) allows it
  var decided = false;
  var queue = [];
  var timer = null;
  var listening = false;
  var visitor = null; // { token, anonymousId, expiresAt }: this browser's visitor session
  var reused = false; // the visitor session came from storage, not started on this page
  var restarted = false; // a refused visitor token was replaced once already
  var session = null; // resolves once the page holds a credential
  var userId = null;
  var subjectToken = null; // the logged-in person's token, from the shop's backend; never stored
  var listeners = [];
  var ready = null;

  function gpcOn() {
    return global.navigator && global.navigator.globalPrivacyControl === true;
  }

  function store(kind) {
    try {
      return global[kind] || null;
    } catch (e) {
      return null; // storage disabled by the browser: behave as a fresh visit
    }
  }

  function readJson(kind, key) {
    var s = store(kind);
    try {
      return s ? JSON.parse(s.getItem(key)) : null;
    } catch (e) {
      return null;
    }
  }

  function forget(keys) {
    ["localStorage", "sessionStorage"].forEach(function (kind) {
      var s = store(kind);
      if (s) keys.forEach(function (k) { s.removeItem(k); });
    });
  }

  function uuid() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    var b = new Uint8Array(16);
    global.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  /** One HTTP call with `bearer`. `opts.merge` adds the visitor token so the server can merge. */
  function call(method, path, body, bearer, opts) {
    var h = {};
    if (bearer) h.Authorization = "Bearer " + bearer;
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (opts && opts.merge && visitor) h["Candor-Visitor-Token"] = visitor.token;
    // Browsers with GPC add this header themselves and refuse to let scripts set it; asking
    // for it anyway covers embedding contexts that allow it. Decisions below do not rely on it.
    if (gpcOn()) h["Sec-GPC"] = "1";
    var init = { method: method, headers: h };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (opts && opts.keepalive) init.keepalive = true;
    return global.fetch(cfg.endpoint + path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        var code = data && data.error && data.error.code;
        return { status: res.status, ok: res.ok, data: data, code: code || null };
      });
    });
  }

  /** Acting for a logged-in person: the page holds both their id and their subject token. */
  function asPerson() {
    return !!(userId && subjectToken);
  }

  function subjectId() {
    return asPerson() ? userId : visitor && visitor.anonymousId;
  }

  /** A path under the page's own subject, worked out when the request is made. */
  function own(suffix) {
    return function () { return "/v1/subjects/" + encodeURIComponent(subjectId()) + suffix; };
  }

  // ---------------------------------------------------------------- visitor session

  function setVisitor(d) {
    visitor = { token: d.visitor_token, anonymousId: d.anonymous_id, expiresAt: d.expires_at };
    if (decided) keepIds();
    return visitor;
  }

  /**
   * Starts a visitor session with the publishable key, or renews `old` (same anonymous id,
   * later expiry). The anonymous id always comes from Candor, never from the page.
   */
  function startVisitor(old) {
    return call("POST", "/v1/visitor-sessions", {}, old ? old.token : cfg.publishableKey).then(function (r) {
      if (r.ok) return setVisitor(r.data);
      // The stored token is dead (expired, revoked, from another server): start afresh.
      if (old && r.status === 401) return startVisitor(null);
      throw new Error("visitor session not started: " + r.status + (r.code ? " " + r.code : ""));
    });
  }

  function storedVisitor() {
    var v = readJson("localStorage", VISITOR_KEY) || readJson("sessionStorage", VISITOR_KEY);
    return v && v.token && v.anonymousId ? v : null;
  }

  /** Reuses the stored visitor session, renewing it near its expiry, or starts one. */
  function openVisitor() {
    var v = storedVisitor();
    var left = v ? Date.parse(v.expiresAt) - Date.now() : 0;
    reused = left > 0;
    if (!reused) return startVisitor(null);
    visitor = v;
    return left > RENEW_BEFORE_MS ? Promise.resolve(v) : startVisitor(v);
  }

  function whenSession() {
    if (!session) {
      // A logged-in person can do without a visitor session; it only serves the merge.
      session = openVisitor().catch(function (err) {
        if (asPerson()) return null;
        session = null; // the next call tries again
        throw err;
      });
    }
    return session;
  }

  /**
   * Calls the API as this page's visitor or person. `path` and `body` may be functions, so a
   * retry after a fresh visitor session addresses the new anonymous id.
   */
  function request(method, path, body, opts) {
    var retried = false;
    function attempt() {
      var person = asPerson();
      var bearer = person ? subjectToken : visitor && visitor.token;
      return call(method, typeof path === "function" ? path() : path, typeof body === "function" ? body() : body, bearer,
        { merge: person && opts && opts.merge, keepalive: opts && opts.keepalive }).then(function (r) {
        var refused = !person && r.status === 401 && /^token_/.test(r.code || "");
        // Another request, refused at the same time, already started the fresh session: wait
        // for it and try once more as the new visitor.
        if (refused && restarted && !retried && session) {
          retried = true;
          return session.then(function () {
            return visitor && visitor.token !== bearer ? attempt() : r;
          });
        }
        // The visitor token was refused (expired, revoked): start a fresh visitor session,
        // once per page, and try again as the new visitor.
        if (refused && !restarted) {
          retried = true;
          restarted = true;
          // A stored choice that allowed anything was recorded for the old visitor: the next
          // visit asks the new one.
          var saved = readJson("localStorage", CHOICE_KEY);
          if (saved && saved.choice !== "reject_all") {
            // Nothing is allowed for the new visitor until they choose, and no id of theirs
            // is kept meanwhile; the old visitor's stored session goes too.
            forget([CHOICE_KEY, VISITOR_KEY]);
            allowed = {};
            decided = false;
          }
          session = startVisitor(null).catch(function (err) { session = null; throw err; });
          return session.then(attempt);
        }
        return r;
      });
    }
    return whenSession().then(attempt);
  }

  // A purpose that needs consent, is granted, and outlives the visit: only then may an id be
  // kept across visits. Session-only purposes get sessionStorage at most.
  function persistentAllowed() {
    if (!policy) return false;
    return policy.purposes.some(function (p) {
      return p.requires_consent && !p.session_only && allowed[p.id];
    });
  }

  function sessionAllowed() {
    if (!policy) return false;
    return policy.purposes.some(function (p) { return p.requires_consent && allowed[p.id]; });
  }

  /** Keeps the visitor session where the person's choice allows, and nowhere else. */
  function keepIds() {
    var local = store("localStorage");
    var tab = store("sessionStorage");
    var kept = visitor && JSON.stringify(visitor);
    forget(OLD_KEYS);
    if (persistentAllowed() && kept) {
      if (local) local.setItem(VISITOR_KEY, kept);
      if (tab) tab.removeItem(VISITOR_KEY);
    } else {
      if (local) local.removeItem(VISITOR_KEY);
      if (tab) {
        if (sessionAllowed() && kept) tab.setItem(VISITOR_KEY, kept);
        else tab.removeItem(VISITOR_KEY);
      }
    }
  }

  function setState(purposeStates) {
    allowed = {};
    purposeStates.forEach(function (p) { if (p.allowed) allowed[p.purpose || p.id] = true; });
    decided = true;
    keepIds();
    // Events queued before the choice are kept or discarded by it, never sent unchecked.
    queue = queue.filter(permitted);
    schedule();
    var snapshot = Candor.consent();
    listeners.forEach(function (fn) { try { fn(snapshot); } catch (e) { /* a listener's bug is not ours */ } });
  }

  function eventPurposes(name) {
    var map = (policy && policy.eventPurposes) || cfg.eventPurposes;
    return map[name] || [];
  }

  function permitted(ev) {
    return eventPurposes(ev._name).some(function (p) { return allowed[p]; });
  }

  // ---------------------------------------------------------------- consent choice

  /** Stores the choice, for whom it was made when an id may be kept; `choice` defaults to the stored one. */
  function remember(choice) {
    var s = store("localStorage");
    var saved = readJson("localStorage", CHOICE_KEY);
    if (!s || !(choice || saved)) return;
    // The record of the choice itself is needed to respect it, so it is kept even when
    // everything is rejected; it holds no identifier unless an id is kept anyway.
    s.setItem(CHOICE_KEY, JSON.stringify({
      policyVersion: policy.version,
      choice: choice || saved.choice,
      allowed: Object.keys(allowed),
      subject: persistentAllowed() ? subjectId() : null,
      at: new Date().toISOString()
    }));
  }

  function decisionsFor(choice, picked) {
    return policy.purposes.filter(function (p) { return p.requires_consent; }).map(function (p) {
      var on = choice === "accept_all" ? true : choice === "reject_all" ? false : !!picked[p.id];
      // GPC is an opt-out of sale and sharing that no bulk click overrides.
      if (p.sale_or_sharing && gpcOn()) on = false;
      return { purpose: p.id, decision: on ? "granted" : "denied" };
    });
  }

  function choose(choice, picked) {
    var body = {
      decisions: decisionsFor(choice, picked || {}),
      source: "banner",
      choice: choice,
      evidence: { ui: "candor.js", sdk_version: VERSION, policy_version: policy.version, gpc: gpcOn() }
    };
    return request("PUT", own("/consents"), body).then(function (r) {
      if (!r.ok) throw new Error("consent not recorded: " + r.status + (r.code ? " " + r.code : ""));
      setState(r.data.purposes);
      remember(choice);
      return Candor.consent();
    });
  }

  // ---------------------------------------------------------------- banner

  var BANNER_CSS =
    ":host{all:initial}" +
    ".b{position:fixed;left:0;right:0;bottom:0;z-index:2147483000;background:#fff;color:#1a1a1a;" +
    "border-top:3px solid #1f3a5f;box-shadow:0 -4px 16px rgba(0,0,0,.2);font:16px/1.45 system-ui,sans-serif;" +
    "max-height:85vh;overflow:auto}" +
    ".in{max-width:56rem;margin:0 auto;padding:1rem 1.25rem}" +
    "h2{font-size:1.2rem;margin:0 0 .5rem}p{margin:.25rem 0 .75rem}" +
    ".gpc{background:#eef3fb;border-left:4px solid #1f3a5f;padding:.5rem .75rem}" +
    "ul{list-style:none;margin:0 0 .75rem;padding:0}li{margin:.4rem 0}" +
    ".t{font-weight:600}.x{color:#3d3d3d}" +
    ".c{display:flex;gap:.6rem;align-items:flex-start}label{cursor:pointer}" +
    "input{width:1.25rem;height:1.25rem;margin:.15rem 0 0;flex:none;accent-color:#1f3a5f}" +
    ".acts{display:grid;grid-template-columns:repeat(3,1fr);gap:.75rem}" +
    "button{font:inherit;font-weight:600;min-height:2.75rem;padding:.5rem 1rem;border-radius:.375rem;" +
    "border:2px solid #1f3a5f;background:#1f3a5f;color:#fff;cursor:pointer}" +
    "button:hover{background:#2c5282;border-color:#2c5282}" +
    "button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}" +
    "a{color:#0b4a8f}" +
    "@media (max-width:36rem){.acts{grid-template-columns:1fr}}";

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") n.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), attrs[k]);
      else n.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) n.appendChild(c); });
    return n;
  }

  var bannerHost = null;

  function closeBanner() {
    if (bannerHost) bannerHost.remove();
    bannerHost = null;
  }

  function purposeNote(p) {
    if (!p.requires_consent) return "Always on: " + p.legal_basis.replace(/_/g, " ") + ".";
    if (p.sale_or_sharing && gpcOn()) return "Off: your browser's Global Privacy Control signal opts you out.";
    return "";
  }

  /** Shows the consent banner (again). Resolves with the consent state once the person chose. */
  function showBanner() {
    closeBanner();
    return new Promise(function (resolve, reject) {
      var host = el("div", { id: "candor-consent", "data-candor": "banner" });
      var root = host.attachShadow({ mode: "open" });
      if (root.adoptedStyleSheets && global.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
        // A constructed sheet works under a strict Content-Security-Policy; a <style> would not.
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(BANNER_CSS);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.appendChild(el("style", { text: BANNER_CSS }));
      }
      var customizing = false;
      var list = el("ul", { id: "cnd-purposes" });
      var status = el("p", { role: "status", "aria-live": "polite" });

      function renderList() {
        list.textContent = "";
        policy.purposes.forEach(function (p) {
          var note = purposeNote(p);
          var textId = "cnd-text-" + p.id;
          var text = el("span", { class: "x", id: textId, text: p.text + (note ? " " + note : "") });
          if (customizing && p.requires_consent) {
            var boxId = "cnd-box-" + p.id;
            var box = el("input", { type: "checkbox", id: boxId, name: p.id, "aria-describedby": textId });
            // Nothing is pre-ticked: consent is an act, not a default.
            box.checked = false;
            if (p.sale_or_sharing && gpcOn()) box.disabled = true;
            list.appendChild(el("li", { class: "c" }, [
              box,
              el("span", {}, [el("label", { for: boxId, class: "t", text: p.title }), el("br"), text])
            ]));
          } else {
            list.appendChild(el("li", {}, [el("span", { class: "t", text: p.title }), el("br"), text]));
          }
        });
      }

      function act(choice) {
        return function () {
          var picked = {};
          Array.prototype.forEach.call(list.querySelectorAll("input:checked"), function (b) { picked[b.name] = true; });
          status.textContent = "Saving your choice...";
          choose(choice, picked).then(function (state) {
            closeBanner();
            resolve(state);
          }, function (err) {
            status.textContent = "Your choice could not be saved. Please try again.";
            reject(err);
          });
        };
      }

      var third = el("button", { type: "button", id: "cnd-customize", text: "Customize" });
      third.addEventListener("click", function () {
        if (!customizing) {
          customizing = true;
          third.textContent = "Save my choices";
          renderList();
          var first = list.querySelector("input:not([disabled])");
          if (first) first.focus();
        } else {
          act("individual")();
        }
      });
      var heading = el("h2", { id: "cnd-title", text: "Your privacy choices" });
      var intro = el("p", {
        id: "cnd-intro",
        text: (policy.controller || "This shop") + " asks before using data about you for these purposes. " +
          "Choose what you allow; you can change your mind at any time in the privacy center."
      });
      var gpc = gpcOn() ? el("p", {
        class: "gpc", "data-candor": "gpc",
        text: "Global Privacy Control is on in your browser: we treat it as an opt-out of the sale and sharing of your data, so those purposes stay off."
      }) : null;
      var box = el("div", { class: "b", role: "dialog", "aria-labelledby": "cnd-title", "aria-describedby": "cnd-intro" }, [
        el("div", { class: "in" }, [
          heading,
          intro,
          gpc,
          list,
          el("div", { class: "acts" }, [
            el("button", { type: "button", id: "cnd-accept", text: "Accept all", onclick: act("accept_all") }),
            el("button", { type: "button", id: "cnd-reject", text: "Reject all", onclick: act("reject_all") }),
            third
          ]),
          status
        ])
      ]);
      renderList();
      root.appendChild(box);
      (cfg.container || document.body).appendChild(host);
      bannerHost = host;
    });
  }

  // ---------------------------------------------------------------- tracker

  function enqueue(ev) {
    ev.messageId = uuid();
    ev.timestamp = new Date().toISOString();
    if (decided && !permitted(ev)) return false;
    if (queue.length >= QUEUE_LEN_MAX) queue.shift();
    queue.push(ev);
    if (decided) schedule();
    return true;
  }

  function schedule() {
    if (!decided || timer || queue.length === 0) return;
    timer = setTimeout(function () { timer = null; flush(); }, queue.length >= BATCH_LEN_MAX ? 0 : FLUSH_INTERVAL_MS);
  }

  function wire(ev) {
    var out = { type: ev.type, messageId: ev.messageId, timestamp: ev.timestamp };
    if (ev.event) out.event = ev.event;
    if (ev.properties) out.properties = ev.properties;
    if (ev.traits) out.traits = ev.traits;
    // The person's events name them and this visitor, whose token rides along in a header:
    // that lets the server merge the visitor's earlier events, which it does only with consent.
    if (asPerson()) out.userId = userId;
    if (visitor) out.anonymousId = visitor.anonymousId;
    out.context = { library: { name: "candor.js", version: VERSION } };
    if (gpcOn()) out.context.gpc = true;
    return out;
  }

  /** Sends queued events now. Resolves with the server's answer, or null when nothing was sent. */
  function flush(keepalive) {
    if (!decided) return Promise.resolve(null);
    queue = queue.filter(permitted);
    if (queue.length === 0) return Promise.resolve(null);
    var batch = queue.splice(0, BATCH_LEN_MAX);
    var p = request("POST", "/v1/events", function () { return { events: batch.map(wire) }; }, { merge: true, keepalive: keepalive })
      .then(function (r) {
        schedule();
        return r.data;
      }, function () {
        // Offline: put the batch back once; the server deduplicates by messageId.
        queue = batch.concat(queue).slice(0, QUEUE_LEN_MAX);
        return null;
      });
    schedule();
    return p;
  }

  // ---------------------------------------------------------------- recommendations

  function reasonText(r) {
    return typeof r === "string" ? r : (r && (r.text || r.sentence || r.reason)) || "";
  }

  /** Renders recommendations into `el`, each with a "Why this?" disclosure of its reasons. */
  function recommendations(target, opts) {
    opts = opts || {};
    var n = opts.n || 4;
    var q = "?n=" + encodeURIComponent(n) + (opts.slot ? "&slot=" + encodeURIComponent(opts.slot) : "");
    target.setAttribute("aria-busy", "true");
    return request("GET", own("/recommendations" + q)).then(function (r) {
      var items = r.ok && r.data ? (r.data.items || r.data.recommendations || []) : [];
      renderRecs(target, items, opts, r.ok && r.data ? r.data : {});
      return items;
    }, function () {
      renderRecs(target, [], opts, {});
      return [];
    });
  }

  /**
   * Records a click on a recommended item. The list's id (from the answer, present when the
   * list was shown under an experiment) attributes the click to the list that showed it.
   */
  function clicked(id, index, answer) {
    var props = { product_id: id, position: index + 1 };
    if (answer && answer.list_id) props.list_id = answer.list_id;
    return enqueue({ type: "track", _name: "Product Clicked", event: "Product Clicked", properties: props });
  }

  function renderRecs(target, items, opts, answer) {
    target.removeAttribute("aria-busy");
    target.textContent = "";
    target.classList.add("candor-recs");
    // Why the whole list is (or is not) personalized, in the server's words.
    var basis = answer.basis && answer.basis.message;
    target.setAttribute("data-personalized", String(!!answer.personalized));
    if (basis) target.appendChild(el("p", { class: "candor-basis", text: basis }));
    if (!items.length) {
      target.appendChild(el("p", { class: "candor-recs-empty", text: "No recommendations yet." }));
      return;
    }
    var list = el("ul", { class: "candor-recs-list" });
    items.forEach(function (it, i) {
      var id = it.item_id || it.id || (it.item && it.item.id) || "";
      var title = it.title || (it.item && it.item.title) || id;
      var reasons = (it.reasons || []).map(reasonText).filter(Boolean).slice(0, REASONS_LEN_MAX);
      var popId = "candor-why-" + (opts.slot || "recs") + "-" + i;
      var pop = el("div", { class: "candor-why", id: popId, role: "note" }, [
        el("ul", {}, (reasons.length ? reasons : ["Popular with other shoppers."]).map(function (t) { return el("li", { text: t }); })),
        basis ? el("p", { class: "candor-why-basis", text: basis }) : null
      ]);
      pop.hidden = true;
      var btn = el("button", {
        type: "button", class: "candor-why-btn", "aria-expanded": "false", "aria-controls": popId,
        "aria-label": "Why this? " + title
      });
      btn.textContent = "Why this?";
      btn.addEventListener("click", function () {
        var open = pop.hidden;
        pop.hidden = !open;
        btn.setAttribute("aria-expanded", String(open));
      });
      pop.addEventListener("keydown", function (e) {
        if (e.key === "Escape") { pop.hidden = true; btn.setAttribute("aria-expanded", "false"); btn.focus(); }
      });
      btn.addEventListener("keydown", function (e) {
        if (e.key === "Escape" && !pop.hidden) { pop.hidden = true; btn.setAttribute("aria-expanded", "false"); }
      });
      var name = el("span", { class: "candor-rec-title", text: title });
      if (opts.onClick) {
        name = el("button", {
          type: "button", class: "candor-rec-link", text: title,
          onclick: function () { clicked(id, i, answer); opts.onClick(it); }
        });
      }
      list.appendChild(el("li", { class: "candor-rec", "data-item": id }, [name, btn, pop]));
    });
    target.appendChild(list);
  }

  // ---------------------------------------------------------------- public API

  /** Whether a stored choice applies to whoever this page acts for now. */
  function applies(saved) {
    if (!saved || saved.policyVersion !== policy.version) return false;
    if (saved.subject) return saved.subject === subjectId();
    // Nothing kept an id. A choice that allows nothing applies to anyone; one that allows
    // something was recorded for a visitor or person the server knows, so it holds only for
    // the same visitor session (or a logged-in person, who carries their own ledger).
    var grants = policy.purposes.some(function (p) { return p.requires_consent && saved.allowed.indexOf(p.id) >= 0; });
    return !grants || reused || asPerson();
  }

  function checkToken(token) {
    if (!/^cst_/.test(token || "")) throw new Error("Candor needs a subject token (cst_...) from your backend to act for a logged-in person");
  }

  var Candor = {
    version: VERSION,

    /**
     * Starts the SDK. Options: endpoint (default: this origin), publishableKey (cnd_pk_...),
     * userId and subjectToken (together: act for that logged-in person; the token comes from
     * your backend, which asks Candor for it with a server key), eventPurposes, banner
     * (default true: ask when no valid choice is stored), container, onConsent(state).
     * Resolves with the consent state once it is known (after the banner, if shown).
     */
    init: function (options) {
      options = options || {};
      // A server key opens everyone's data; a page that held one would hand it to anybody.
      if (options.key || options.decideKey || !/^cnd_pk_/.test(options.publishableKey || "")) {
        throw new Error(SERVER_KEY_REFUSED);
      }
      if (options.subjectToken) checkToken(options.subjectToken);
      cfg = {
        endpoint: (options.endpoint || "").replace(/\/+$/, ""),
        publishableKey: options.publishableKey,
        eventPurposes: options.eventPurposes || DEFAULT_EVENT_PURPOSES,
        banner: options.banner !== false,
        container: options.container || null
      };
      if (options.onConsent) listeners.push(options.onConsent);
      // Only both together act for a person: an id alone proves nothing, and the token is
      // opaque (it does not say whose it is).
      userId = options.userId && options.subjectToken ? String(options.userId) : null;
      subjectToken = userId ? options.subjectToken : null;
      if (!listening && global.addEventListener) {
        listening = true;
        global.addEventListener("pagehide", function () { flush(true); });
      }
      session = null;
      var policyRead = call("GET", "/v1/policy", undefined, cfg.publishableKey).then(function (r) {
        if (!r.ok) throw new Error("policy unavailable: " + r.status);
        policy = r.data;
        if (Array.isArray(policy.event_types)) {
          policy.eventPurposes = {};
          policy.event_types.forEach(function (t) { policy.eventPurposes[t.name] = t.purposes; });
        }
      });
      ready = Promise.all([policyRead, whenSession()]).then(function () {
        var saved = readJson("localStorage", CHOICE_KEY);
        if (applies(saved)) {
          policy.purposes.forEach(function (p) {
            if (!p.requires_consent) saved.allowed.push(p.id);
            // GPC switched on since the choice still opts out of sale and sharing.
            if (p.sale_or_sharing && gpcOn()) saved.allowed = saved.allowed.filter(function (x) { return x !== p.id; });
          });
          setState(saved.allowed.map(function (id) { return { purpose: id, allowed: true }; }));
          return Candor.consent();
        }
        // No choice yet, the policy changed since, or the choice was someone else's: ask
        // again, and until then send nothing.
        return cfg.banner ? showBanner() : Candor.consent();
      });
      return ready;
    },

    /** The current choice: which purposes are allowed, and whether the person has chosen. */
    consent: function () {
      return {
        decided: decided,
        gpc: gpcOn(),
        policyVersion: policy && policy.version,
        allowed: Object.keys(allowed).sort(),
        subject: subjectId() || null,
        anonymousId: (visitor && visitor.anonymousId) || null
      };
    },

    onConsent: function (fn) { listeners.push(fn); },
    showBanner: showBanner,

    /** Records a choice without the banner: "accept_all", "reject_all" or "individual" with {purpose: true}. */
    setConsent: function (choice, picked) { return ready.then(function () { return choose(choice, picked); }); },

    page: function (properties) {
      var props = { path: global.location.pathname, title: document.title };
      for (var k in properties || {}) props[k] = properties[k];
      return enqueue({ type: "page", _name: "Page Viewed", properties: props });
    },

    track: function (event, properties) {
      return enqueue({ type: "track", _name: event, event: event, properties: properties || {} });
    },

    /**
     * Records traits. Only a subject token proves who someone is: without one for `id`, the
     * event must not name `id` as its userId — any page could otherwise claim to be anyone,
     * and the server refuses such an event (`subject_not_yours`). So it is recorded for this
     * visitor, and a person's id comes in through `login`, with the token their backend minted.
     */
    identify: function (id, traits) {
      // Logged in as someone else: the traits are not theirs, and not this visitor's either.
      if (asPerson() && String(id) !== userId) return false;
      return enqueue({ type: "identify", _name: "Identify", traits: traits || {} });
    },

    /**
     * Acts for a logged-in person from now on, with the subject token the shop's backend
     * minted for them, and merges this visitor into them (an identify carrying both ids, sent
     * with both tokens). The person's own recorded choice governs from here; when they never
     * made one, the banner asks them (the visitor's choice was not theirs to give). Resolves
     * with the server's answer to the identify, or null when nothing was sent.
     */
    login: function (id, token, traits) {
      checkToken(token);
      var before = [userId, subjectToken];
      return Promise.resolve(ready).catch(function () { /* a person can do without a visitor */ }).then(function () {
        userId = String(id);
        subjectToken = token;
        return request("GET", own("/consents"));
      }).then(function (r) {
        if (!r.ok) {
          userId = before[0];
          subjectToken = before[1];
          throw new Error("login refused: " + r.status + (r.code ? " " + r.code : ""));
        }
        var chosen = r.data.purposes.every(function (p) {
          return p.status === "not_required" || !/^(no_choice_yet|purpose_changed)$/.test(p.reason_code);
        });
        var identify = { type: "identify", _name: "Identify", traits: traits || {} };
        if (chosen) {
          setState(r.data.purposes);
          remember("account");
          enqueue(identify);
          return flush(false);
        }
        // Until the person chose, nothing is sent (the identify waits in the queue).
        allowed = {};
        decided = false;
        enqueue(identify);
        return cfg.banner ? showBanner().then(function () { return flush(false); }) : null;
      });
    },

    flush: function () { return flush(false); },
    recommendations: recommendations,

    /** Calls the Candor API as this visitor or logged-in person. Resolves with {status, ok, data, code}. */
    request: function (method, path, body) { return request(method, path, body); },

    /** Forgets the stored choice, the visitor session and the person's token in this browser (the server's record stays). */
    reset: function () {
      forget([CHOICE_KEY, VISITOR_KEY].concat(OLD_KEYS));
      allowed = {};
      decided = false;
      queue = [];
      visitor = null;
      reused = false;
      session = null;
      userId = null;
      subjectToken = null;
    }
  };

  global.Candor = Candor;
})(window);
