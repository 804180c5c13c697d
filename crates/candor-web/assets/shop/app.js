/*
 * The demo shop: a product grid instrumented with the SDK, the way a real shop would use it.
 *
 * The page holds only what a shop's page may: the publishable key (it can start visitor
 * sessions and nothing else) and, when someone is logged in, the subject token the shop's
 * backend minted for that one person. Never a server key.
 *
 * Who is shopping:
 * - `/shop/#subject=ID&token=cst_...` logs in as ID. A backend minted the token (in the demo,
 *   the browser tests do, with a server key); it rides in the fragment, which the browser
 *   never sends to a server, and is moved into this tab's sessionStorage at once.
 * - `/shop/#anonymous` shops as an anonymous visitor, for this tab.
 * - Otherwise `candor demo` logs in as its demo shopper (/shop/config.js). Without a demo
 *   configuration the shop runs as an anonymous visitor and asks for a publishable key.
 */
(function () {
  "use strict";
  var P = window.CandorPage;
  var el = P.el;
  var KEY = "candor.shop.publishableKey";
  var LOGIN = "candor.shop.login";

  // Shown when the catalog is empty or the server has no catalog endpoint.
  var BUILT_IN = [
    { id: "shoe-trail", title: "Trail running shoes", categories: ["running"], attributes: { price: 89 } },
    { id: "shoe-road", title: "Road running shoes", categories: ["running"], attributes: { price: 79 } },
    { id: "jacket-rain", title: "Rain jacket", categories: ["outdoor"], attributes: { price: 120 } },
    { id: "tent-2p", title: "Two-person tent", categories: ["outdoor"], attributes: { price: 210 } },
    { id: "mug-enamel", title: "Enamel mug", categories: ["kitchen"], attributes: { price: 14 } },
    { id: "stove-camp", title: "Camping stove", categories: ["outdoor", "kitchen"], attributes: { price: 45 } },
    { id: "socks-wool", title: "Merino socks", categories: ["running", "outdoor"], attributes: { price: 18 } },
    { id: "bottle-steel", title: "Steel water bottle", categories: ["kitchen"], attributes: { price: 22 } }
  ];

  function $(id) { return document.getElementById(id); }
  function readSession(k) { try { return JSON.parse(sessionStorage.getItem(k)); } catch (e) { return null; } }
  function keepSession(k, v) { try { sessionStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* private mode */ } }

  /** Who this tab shops as: `{subject, token}` when logged in, null for an anonymous visitor. */
  function login() {
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    var fromLink = h.get("subject") && h.get("token") ? { subject: h.get("subject"), token: h.get("token") } : null;
    if (fromLink || h.has("anonymous")) {
      keepSession(LOGIN, fromLink || { anonymous: true });
      history.replaceState(null, "", location.pathname + location.search);
      return fromLink;
    }
    var kept = readSession(LOGIN);
    if (kept) return kept.anonymous ? null : kept;
    var demo = window.CandorDemo;
    return demo && demo.subject && demo.subjectToken ? { subject: demo.subject, token: demo.subjectToken } : null;
  }

  // A new login link opened in this tab replaces the page's person.
  window.addEventListener("hashchange", function () {
    if (/(^#|&)(token=|anonymous)/.test(location.hash)) location.reload();
  });

  function publishableKey() {
    var demo = window.CandorDemo;
    return (demo && demo.publishableKey) || readSession(KEY);
  }

  function price(item) {
    var p = item.attributes && item.attributes.price;
    return typeof p === "number" ? p : null;
  }

  function productProps(item, position) {
    var props = { product_id: item.id, name: item.title, position: position };
    if (item.categories && item.categories[0]) props.category = item.categories[0];
    if (price(item) !== null) { props.price = price(item); props.currency = "EUR"; }
    return props;
  }

  function renderProducts(list) {
    var grid = P.clear($("products"));
    list.forEach(function (item, i) {
      var card = el("li", { class: "product", "data-product": item.id }, [
        el("div", { class: "swatch", "aria-hidden": "true", text: item.title.charAt(0) }),
        el("strong", { text: item.title }),
        el("span", { class: "cat", text: (item.categories || []).join(", ") }),
        price(item) !== null ? el("span", { text: "€" + price(item).toFixed(2) }) : null
      ]);
      card.appendChild(el("button", { type: "button", class: "secondary", "aria-label": "View " + item.title, text: "View", onclick: function () {
        Candor.track("Product Viewed", productProps(item, i + 1));
        card.classList.add("viewed");
        $("status").textContent = "Viewed " + item.title + ".";
      } }));
      card.appendChild(el("button", { type: "button", "aria-label": "Add " + item.title + " to cart", text: "Add to cart", onclick: function () {
        var props = productProps(item, i + 1);
        delete props.position;
        props.quantity = 1;
        Candor.track("Product Added", props);
        $("status").textContent = "Added " + item.title + " to your cart.";
      } }));
      grid.appendChild(card);
    });
  }

  function loadProducts() {
    var done = function (r) {
      var list = r && r.ok && r.data && r.data.items && r.data.items.length ? r.data.items : null;
      $("products-source").textContent = list ? "From the shop's catalog." : "A small built-in catalog (the server has no items yet).";
      renderProducts(list || BUILT_IN);
    };
    return Candor.request("GET", "/v1/items?limit=50").then(done, function () { done(null); });
  }

  function showWho(who) {
    var link = $("privacy-link");
    if (who) {
      $("who").textContent = "Logged in as " + who.subject + ".";
      // A personal link: the token opens this one person's privacy center, in the fragment.
      link.href = "/privacy/#" + new URLSearchParams({ token: who.token, subject: who.subject }).toString();
      link.hidden = false;
      $("privacy-note").hidden = true;
    } else {
      $("who").textContent = "Browsing as a visitor.";
      // The privacy center shows and changes what is held about a person, so it must know
      // who that is: only a logged-in person gets a link.
      link.hidden = true;
      link.removeAttribute("href");
      $("privacy-note").hidden = false;
    }
  }

  function start(key) {
    var who = login();
    var ready = Candor.init({
      endpoint: "",
      publishableKey: key,
      userId: who ? who.subject : undefined,
      subjectToken: who ? who.token : undefined
    });
    showWho(who);
    $("choices").addEventListener("click", function () { Candor.showBanner(); });
    Candor.page();
    loadProducts();
    ready.then(function () {
      Candor.recommendations($("recs"), { slot: "home", n: 4 });
    }, function (err) {
      P.clear($("recs")).appendChild(el("p", { class: "error", text: "The shop could not reach Candor: " + err.message }));
    });
    Candor.onConsent(function () { Candor.recommendations($("recs"), { slot: "home", n: 4 }); });
  }

  var key = publishableKey();
  if (key) {
    start(key);
  } else {
    $("keys").hidden = false;
    $("recs-section").hidden = true;
    $("keys").addEventListener("submit", function (e) {
      e.preventDefault();
      var chosen = $("publishable-key").value.trim();
      var error = P.clear($("keys-error"));
      try {
        start(chosen);
      } catch (err) {
        // The SDK refuses anything but a publishable key: say why, next to the field.
        error.appendChild(el("p", { class: "error", role: "alert", text: err.message }));
        $("publishable-key").setAttribute("aria-invalid", "true");
        return;
      }
      keepSession(KEY, chosen);
      $("keys").hidden = true;
      $("recs-section").hidden = false;
    });
  }
})();
