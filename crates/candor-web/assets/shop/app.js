/*
 * The demo shop: a product grid instrumented with the SDK, the way a real shop would use it.
 * Keys come from /shop/config.js when the server runs its demo, otherwise from a form.
 * `?subject=ID` makes the shop act as that person (the browser tests use one per test).
 * The demo shopper's privacy-center link carries a subject token the demo mints for them;
 * anyone else gets the operator-style link with keys.
 */
(function () {
  "use strict";
  var P = window.CandorPage;
  var el = P.el;
  var KEYS = "candor.shop.keys";
  var params = new URLSearchParams(location.search);

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

  function keys() {
    var demo = window.CandorDemo;
    if (demo && demo.ingestKey) return { ingest: demo.ingestKey, decide: demo.decideKey, subject: demo.subject };
    try { return JSON.parse(sessionStorage.getItem(KEYS)); } catch (e) { return null; }
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

  function loadProducts(k) {
    return P.api("GET", "/v1/items?limit=50", k.decide || k.ingest).then(function (r) {
      var list = r.ok && r.data && r.data.items && r.data.items.length ? r.data.items : null;
      $("products-source").textContent = list ? "From the shop's catalog." : "A small built-in catalog (the server has no items yet).";
      renderProducts(list || BUILT_IN);
    });
  }

  function start(k) {
    var subject = params.get("subject") || k.subject || null;
    var demo = window.CandorDemo;
    if (demo && demo.privacyToken && subject === demo.subject) {
      // A personal link: the token opens this one person's privacy center. It rides in the
      // fragment, which the browser never sends to a server.
      $("privacy-link").href = "/privacy/#" + new URLSearchParams({ token: demo.privacyToken, subject: subject }).toString();
    } else if (subject) {
      var q = new URLSearchParams({ subject: subject, key: k.ingest });
      if (k.decide) q.set("readKey", k.decide);
      $("privacy-link").href = "/privacy/?" + q.toString();
    }
    $("choices").addEventListener("click", function () { Candor.showBanner(); });
    var ready = Candor.init({ endpoint: "", key: k.ingest, decideKey: k.decide || k.ingest, userId: subject || undefined });
    Candor.page();
    loadProducts(k);
    ready.then(function () {
      Candor.recommendations($("recs"), { slot: "home", n: 4 });
    }, function (err) {
      P.clear($("recs")).appendChild(el("p", { class: "error", text: "The shop could not reach Candor: " + err.message }));
    });
    Candor.onConsent(function () { Candor.recommendations($("recs"), { slot: "home", n: 4 }); });
  }

  var k = keys();
  if (k && k.ingest) {
    start(k);
  } else {
    $("keys").hidden = false;
    $("recs-section").hidden = true;
    $("keys").addEventListener("submit", function (e) {
      e.preventDefault();
      var chosen = { ingest: $("ingest-key").value.trim(), decide: $("decide-key").value.trim() || null };
      sessionStorage.setItem(KEYS, JSON.stringify(chosen));
      $("keys").hidden = true;
      $("recs-section").hidden = false;
      start(chosen);
    });
  }
})();
