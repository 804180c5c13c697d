/*
 * Helpers shared by Candor's pages: calling the API, and building DOM without innerHTML, so
 * text from the server (purpose texts, item titles) can never become markup.
 */
(function (global) {
  "use strict";

  /**
   * Calls the API with `credential` (a token, or the admin key the operator typed into the
   * console). `code` is the error code of a refusal; `missing` is true when this server does
   * not offer the endpoint yet.
   */
  function api(method, path, credential, body) {
    var headers = {};
    if (credential) headers.Authorization = "Bearer " + credential;
    var init = { method: method, headers: headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
        var code = data && data.error && data.error.code;
        return {
          status: res.status,
          ok: res.ok,
          data: data,
          // Unknown routes answer 404 `not_found`, known routes without this method 405.
          code: code || null,
          missing: (res.status === 404 && (code === "not_found" || !code)) || res.status === 405 || res.status === 501,
          message: (data && data.error && data.error.message) || res.statusText
        };
      });
    }, function () {
      return { status: 0, ok: false, data: null, code: null, missing: false, message: "the server could not be reached" };
    });
  }

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") n.textContent = v;
      else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return n;
  }

  function unavailable(what) {
    return el("p", { class: "unavailable", "data-state": "unavailable", text: what + ": not available on this server yet." });
  }

  function failure(r) {
    return el("p", { class: "error", role: "alert", text: "Something went wrong (" + (r.status || "network") + "): " + r.message });
  }

  /** Renders any JSON value readably: objects as term lists, arrays as lists. */
  function render(value) {
    if (value === null || value === undefined) return el("span", { class: "muted", text: "—" });
    if (Array.isArray(value)) {
      if (value.length === 0) return el("span", { class: "muted", text: "none" });
      return el("ul", {}, value.map(function (v) { return el("li", {}, [render(v)]); }));
    }
    if (typeof value === "object") {
      var dl = el("dl", { class: "kv" });
      Object.keys(value).forEach(function (k) {
        dl.appendChild(el("dt", { text: k.replace(/_/g, " ") }));
        dl.appendChild(el("dd", {}, [render(value[k])]));
      });
      return dl;
    }
    return document.createTextNode(String(value));
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  global.CandorPage = { api: api, el: el, unavailable: unavailable, failure: failure, render: render, clear: clear };
})(window);
