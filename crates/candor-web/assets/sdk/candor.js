/*
 * Candor JS SDK: consent banner, tracker and recommendation widget.
 *
 *   Candor.init({ endpoint: "https://candor.example", key: "cnd_...", decideKey: "cnd_..." });
 *   Candor.page();
 *   Candor.track("Product Viewed", { product_id: "sku-1" });
 *   Candor.recommendations(element, { slot: "home", n: 4 });
 *
 * Rules it keeps: nothing is sent for a purpose the person has not allowed; "Reject all" is
 * exactly as prominent as "Accept all"; no purpose is pre-ticked; Global Privacy Control keeps
 * sale and sharing off; nothing identifying is written to storage unless a purpose allows it.
 * No dependencies, no network access other than the configured Candor endpoint.
 */
(function (global) {
  "use strict";

  var VERSION = "0.1.0";
  // Limits, so a page that tracks in a loop cannot grow memory or flood the server.
  var QUEUE_LEN_MAX = 500;
  var BATCH_LEN_MAX = 50;
  var FLUSH_INTERVAL_MS = 1000;
  var REASONS_LEN_MAX = 5;

  var CHOICE_KEY = "candor.choice";
  var ANON_KEY = "candor.anonymousId";
  var USER_KEY = "candor.userId";

  // Which purposes each event type serves, as in the default policy. A site with its own
  // policy passes `eventPurposes`; a server whose /v1/policy lists event types overrides both.
  var DEFAULT_EVENT_PURPOSES = {
    "Page Viewed": ["analytics", "personalization", "session_personalization"],
    "Product Viewed": ["analytics", "personalization", "session_personalization", "targeted_advertising"],
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
  var anonymousId = null;
  var userId = null;
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

  function readJson(key) {
    var s = store("localStorage");
    try {
      return s ? JSON.parse(s.getItem(key)) : null;
    } catch (e) {
      return null;
    }
  }

  function uuid() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    var b = new Uint8Array(16);
    global.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  function headers(key, json) {
    var h = { Authorization: "Bearer " + key };
    if (json) h["Content-Type"] = "application/json";
    // Browsers with GPC add this header themselves and refuse to let scripts set it; asking
    // for it anyway covers embedding contexts that allow it. Decisions below do not rely on it.
    if (gpcOn()) h["Sec-GPC"] = "1";
    return h;
  }

  function api(method, path, body, key, extra) {
    var init = { method: method, headers: headers(key || cfg.key, body !== undefined) };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (extra) for (var k in extra) init[k] = extra[k];
    return global.fetch(cfg.endpoint + path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: res.status, ok: res.ok, data: data };
      });
    });
  }

  function subjectId() {
    return userId || anonymousId;
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

  function keepIds() {
    var local = store("localStorage");
    var session = store("sessionStorage");
    if (persistentAllowed()) {
      if (local) {
        local.setItem(ANON_KEY, anonymousId);
        if (userId) local.setItem(USER_KEY, userId);
      }
    } else {
      if (local) { local.removeItem(ANON_KEY); local.removeItem(USER_KEY); }
      if (session) {
        if (sessionAllowed()) session.setItem(ANON_KEY, anonymousId);
        else session.removeItem(ANON_KEY);
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

  function remember(choice) {
    var s = store("localStorage");
    if (!s) return;
    // The record of the choice itself is needed to respect it, so it is kept even when
    // everything is rejected; it holds no identifier unless an id is kept anyway.
    s.setItem(CHOICE_KEY, JSON.stringify({
      policyVersion: policy.version,
      choice: choice,
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
    return api("PUT", "/v1/subjects/" + encodeURIComponent(subjectId()) + "/consents", body).then(function (r) {
      if (!r.ok) throw new Error("consent not recorded: " + r.status);
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
    if (userId) {
      out.userId = userId;
      // Lets the server merge the visitor's earlier events, which it does only with consent.
      if (ev.type === "identify" && anonymousId) out.anonymousId = anonymousId;
    } else {
      out.anonymousId = anonymousId;
    }
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
    var p = api("POST", "/v1/events", { events: batch.map(wire) }, null, keepalive ? { keepalive: true } : null)
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
    var done = ready || Promise.resolve();
    return done.then(function () {
      return api("GET", "/v1/subjects/" + encodeURIComponent(subjectId()) + "/recommendations" + q, undefined, cfg.decideKey);
    }).then(function (r) {
      var items = r.ok && r.data ? (r.data.items || r.data.recommendations || []) : [];
      renderRecs(target, items, opts, r.ok && r.data ? r.data : {});
      return items;
    }, function () {
      renderRecs(target, [], opts, {});
      return [];
    });
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
      if (opts.onClick) name = el("button", { type: "button", class: "candor-rec-link", text: title, onclick: function () { opts.onClick(it); } });
      list.appendChild(el("li", { class: "candor-rec", "data-item": id }, [name, btn, pop]));
    });
    target.appendChild(list);
  }

  // ---------------------------------------------------------------- public API

  var Candor = {
    version: VERSION,

    /**
     * Starts the SDK. Options: endpoint (default: this origin), key (ingest-scoped),
     * decideKey (for recommendations; default: key), userId, eventPurposes, banner (default
     * true: ask when no valid choice is stored), container, onConsent(state).
     * Resolves with the consent state once it is known (after the banner, if shown).
     */
    init: function (options) {
      cfg = {
        endpoint: (options.endpoint || "").replace(/\/+$/, ""),
        key: options.key,
        decideKey: options.decideKey || options.key,
        eventPurposes: options.eventPurposes || DEFAULT_EVENT_PURPOSES,
        banner: options.banner !== false,
        container: options.container || null
      };
      if (!cfg.key) throw new Error("Candor.init needs an API key");
      if (options.onConsent) listeners.push(options.onConsent);
      var local = store("localStorage");
      var session = store("sessionStorage");
      userId = options.userId || (local && local.getItem(USER_KEY)) || null;
      anonymousId = (local && local.getItem(ANON_KEY)) || (session && session.getItem(ANON_KEY)) || uuid();
      if (!timer && global.addEventListener) {
        global.addEventListener("pagehide", function () { flush(true); });
      }
      ready = api("GET", "/v1/policy").then(function (r) {
        if (!r.ok) throw new Error("policy unavailable: " + r.status);
        policy = r.data;
        if (Array.isArray(policy.event_types)) {
          policy.eventPurposes = {};
          policy.event_types.forEach(function (t) { policy.eventPurposes[t.name] = t.purposes; });
        }
        var saved = readJson(CHOICE_KEY);
        var sameVersion = saved && saved.policyVersion === policy.version;
        var samePerson = saved && (!options.userId || !saved.subject || saved.subject === options.userId);
        if (sameVersion && samePerson) {
          policy.purposes.forEach(function (p) {
            if (!p.requires_consent) saved.allowed.push(p.id);
            // GPC switched on since the choice still opts out of sale and sharing.
            if (p.sale_or_sharing && gpcOn()) saved.allowed = saved.allowed.filter(function (x) { return x !== p.id; });
          });
          setState(saved.allowed.map(function (id) { return { purpose: id, allowed: true }; }));
          return Candor.consent();
        }
        // No choice yet, or the policy changed since: ask again, and until then send nothing.
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
        subject: subjectId()
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

    identify: function (id, traits) {
      userId = String(id);
      if (decided) keepIds();
      return enqueue({ type: "identify", _name: "Identify", traits: traits || {} });
    },

    flush: function () { return flush(false); },
    recommendations: recommendations,

    /** Forgets the stored choice and ids in this browser (the server's record stays). */
    reset: function () {
      var local = store("localStorage");
      var session = store("sessionStorage");
      [CHOICE_KEY, ANON_KEY, USER_KEY].forEach(function (k) {
        if (local) local.removeItem(k);
        if (session) session.removeItem(k);
      });
      allowed = {};
      decided = false;
      queue = [];
    }
  };

  global.Candor = Candor;
})(window);
