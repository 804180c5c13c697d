// Segment's browser library (@segment/analytics-next, from npm, pinned in package-lock.json)
// on a shop's page, sending to Candor: its settings given inline (`cdnSettings`, so nothing is
// fetched from Segment's CDN), its `apiHost` pointed at Candor, everything else as it comes.
//
// The page holds browser credentials only: the publishable key starts a visitor session, and
// the visitor token (or, once the shop's backend has logged the person in, their subject
// token) is the library's write key. The library sends it as `Authorization: Basic` and as
// the body's `writeKey`, to the short paths `/v1/t`, `/v1/p`, `/v1/i`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { BASE, KEYS, open, api, newSubject, subjectToken, storedEvents } from "./support.js";

const here = dirname(fileURLToPath(import.meta.url));
const LIBRARY = readFileSync(join(here, "node_modules", "@segment", "analytics-next", "dist", "umd", "index.js"));
// The shop's page and the library, served to the browser under Candor's origin (the shop's
// own origin in the demo) without reaching the server.
const PAGE_BASE = `${BASE}/__shop-with-segment/`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop with Segment</title>
<script src="analytics-next.js"></script>
<script>
  // What a shop's page does: a visitor session from the publishable key, then Segment's
  // library with a browser credential as its write key.
  window.visitorSession = async (publishableKey) => {
    const r = await fetch("/v1/visitor-sessions", {
      method: "POST",
      headers: { Authorization: "Bearer " + publishableKey },
    });
    if (r.status !== 201) throw new Error("visitor session: " + r.status);
    return r.json();
  };
  window.grant = async (token, anonymousId, purposes) => {
    const r = await fetch("/v1/subjects/" + encodeURIComponent(anonymousId) + "/consents", {
      method: "PUT",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify({ decisions: purposes.map((purpose) => ({ purpose, decision: "granted" })), source: "banner" }),
    });
    if (r.status !== 200) throw new Error("consent: " + r.status);
  };
  window.loadSegment = async (writeKey, anonymousId, headers) => {
    const segment = { apiHost: location.host + "/v1", protocol: location.protocol.slice(0, -1) };
    if (headers) segment.deliveryStrategy = { strategy: "standard", config: { headers } };
    const [analytics] = await AnalyticsNext.AnalyticsBrowser.load(
      {
        writeKey,
        // What Segment's CDN would answer for this source, given inline.
        cdnSettings: { integrations: { "Segment.io": { apiKey: writeKey } }, metrics: { sampleRate: 0 } },
      },
      { integrations: { "Segment.io": segment } },
    );
    analytics.setAnonymousId(anonymousId);
    window.analytics = analytics;
  };
</script></head>
<body><h1>A shop</h1></body></html>`;

/**
 * Opens the shop's page in a fresh browser as a new visitor, with the library loaded.
 * Resolves with the browser, the bodies and answers of what the library sent to Candor, every
 * request that left for elsewhere, and the visitor's session and anonymous id.
 */
async function openShop() {
  const b = await open();
  const sent = [];
  const elsewhere = [];
  await b.context.route("**/*", async (route) => {
    const url = route.request().url();
    if (url === PAGE_BASE + "index.html") {
      return route.fulfill({ contentType: "text/html; charset=utf-8", body: PAGE });
    }
    if (url === PAGE_BASE + "analytics-next.js") {
      return route.fulfill({ contentType: "text/javascript", body: LIBRARY });
    }
    if (url.startsWith(BASE + "/")) return route.continue();
    elsewhere.push(url);
    return route.abort();
  });
  b.page.on("response", async (res) => {
    const path = new URL(res.url()).pathname;
    if (!/^\/v1\/[tpi]$/.test(path)) return;
    const req = res.request();
    sent.push({ path, headers: req.headers(), body: req.postDataJSON(), status: res.status(), answer: await res.json() });
  });
  try {
    await b.page.goto(PAGE_BASE + "index.html");
    // The visitor's session, from the publishable key; the library with its token.
    const session = await b.page.evaluate((k) => visitorSession(k), KEYS.publishable);
    const anon = session.anonymous_id;
    await b.page.evaluate(([t, a]) => loadSegment(t, a), [session.visitor_token, anon]);
    return { b, sent, elsewhere, session, anon };
  } catch (e) {
    await b.close();
    throw e;
  }
}

/** The answers of the library's requests to `path` since `from`, awaited until `n` came. */
async function answers(page, sent, from, n) {
  for (let i = 0; i < 50 && sent.length - from < n; i += 1) await page.waitForTimeout(100);
  return sent.slice(from);
}

const SERVER_KEYS = [KEYS.admin, KEYS.ingest, KEYS.decide, KEYS.sessions];

test("Segment's browser library: a consented track and page are stored, an unconsented one dropped", async () => {
  const { b, sent, elsewhere, session, anon } = await openShop();
  try {
    const { page } = b;

    // No choice yet: the library delivers, Candor drops.
    await page.evaluate(() => analytics.track("Product Viewed", { product_id: "sku-unconsented" }));
    let got = await answers(page, sent, 0, 1);
    assert.equal(got.length, 1);
    assert.equal(got[0].path, "/v1/t");
    assert.equal(got[0].status, 200, JSON.stringify(got[0].answer));
    assert.equal(got[0].answer.results[0].status, "dropped", JSON.stringify(got[0].answer));
    assert.equal(got[0].answer.results[0].reason, "no_consent");

    // The visitor accepts on the banner; the next track and page are stored.
    await page.evaluate(([t, a]) => grant(t, a, ["analytics", "personalization"]), [session.visitor_token, anon]);
    await page.evaluate(() => analytics.track("Product Viewed", { product_id: "sku-1" }));
    await page.evaluate(() => analytics.page("Home"));
    got = await answers(page, sent, 1, 2);
    assert.deepEqual(got.map((s) => s.path), ["/v1/t", "/v1/p"]);
    for (const s of got) {
      assert.equal(s.status, 200);
      assert.equal(s.answer.results[0].status, "accepted", JSON.stringify(s.answer));
    }
    const stored = await storedEvents(anon);
    const types = stored.map((e) => e.event_type).sort();
    assert.deepEqual(types, ["Page Viewed", "Product Viewed"], JSON.stringify(stored));
    assert.deepEqual(stored.filter((e) => e.item_id).map((e) => e.item_id), ["sku-1"]);

    // What left the page: the visitor token as write key (header and body), the library's
    // own anonymous id set to Candor's, and no server key anywhere.
    for (const s of sent) {
      assert.equal(s.body.writeKey, session.visitor_token);
      assert.equal(s.headers.authorization, "Basic " + Buffer.from(session.visitor_token + ":").toString("base64"));
      assert.equal(s.body.anonymousId, anon);
      const text = JSON.stringify(s);
      for (const k of SERVER_KEYS) assert.ok(!text.includes(k), "a server key left the page");
    }
    const html = await page.content();
    for (const k of SERVER_KEYS) assert.ok(!html.includes(k));
    assert.deepEqual(elsewhere, [], "the library reached outside Candor");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("Segment's browser library: identify as a visitor names no one else; logged in, it merges the visit", async () => {
  const { b, sent, elsewhere, session, anon } = await openShop();
  try {
    const { page } = b;
    await page.evaluate(([t, a]) => grant(t, a, ["analytics", "personalization"]), [session.visitor_token, anon]);
    await page.evaluate(() => analytics.track("Product Viewed", { product_id: "sku-1" }));

    // With the visitor token, identify describes the visitor only.
    await page.evaluate(() => analytics.identify({ plan: "pro" }));
    let got = await answers(page, sent, 0, 2);
    assert.equal(got[1].path, "/v1/i");
    assert.equal(got[1].answer.results[0].status, "accepted", JSON.stringify(got[1].answer));
    // Naming a person with it is refused for that event: a page cannot write as someone.
    const someone = newSubject("segment-claimed");
    await page.evaluate((id) => analytics.identify(id, { plan: "gold" }), someone);
    got = await answers(page, sent, 2, 1);
    assert.equal(got[0].path, "/v1/i");
    assert.equal(got[0].answer.results[0].status, "invalid", JSON.stringify(got[0].answer));
    assert.equal(got[0].answer.results[0].reason, "subject_not_yours");
    assert.deepEqual(await storedEvents(someone), []);

    // The shop's backend logs the person in and hands the page their subject token; the
    // library, with it as write key and the visitor token in `Candor-Visitor-Token`, merges
    // the visit into the person on identify.
    const person = newSubject("segment-person");
    const consent = await api("PUT", `/v1/subjects/${encodeURIComponent(person)}/consents`, KEYS.ingest,
      { decisions: [{ purpose: "analytics", decision: "granted" }, { purpose: "personalization", decision: "granted" }] });
    assert.equal(consent.status, 200, JSON.stringify(consent.body));
    const token = await subjectToken(person);
    // The refused identify left `someone` as the library's user; logging in starts afresh.
    await page.evaluate(() => analytics.reset());
    await page.evaluate(([t, a, v]) => loadSegment(t, a, { "Candor-Visitor-Token": v }),
      [token, anon, session.visitor_token]);
    const from = sent.length;
    await page.evaluate((id) => analytics.identify(id), person);
    got = await answers(page, sent, from, 1);
    assert.equal(got[0].path, "/v1/i");
    assert.equal(got[0].body.userId, person);
    assert.equal(got[0].body.anonymousId, anon);
    assert.equal(got[0].headers["candor-visitor-token"], session.visitor_token);
    const result = got[0].answer.results[0];
    assert.equal(result.status, "accepted", JSON.stringify(got[0].answer));
    assert.ok(result.merged_events >= 1, JSON.stringify(result));
    const events = await storedEvents(person);
    assert.ok(events.some((e) => e.item_id === "sku-1"), `the visit was not merged: ${JSON.stringify(events)}`);
    assert.deepEqual(elsewhere, [], "the library reached outside Candor");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});
