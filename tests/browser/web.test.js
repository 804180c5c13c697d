// Browser tests of the consent banner, tracker, privacy center and console against a running
// Candor (started by run.sh). Each test is one person, in a fresh browser profile. Pages get
// only the publishable key and tokens; the server keys stay in this process, which plays the
// shop's backend (seeding data, minting subject tokens, checking what the server recorded).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  BASE, KEYS, api, open, newSubject, consents, storedEvents, screenshot, screenshotOf, tabThrough, controls, lowestContrast,
  subjectToken, openShopAs, openShopAnonymously, openPrivacyAs, privacyLink,
} from "./support.js";

const CONSENT_PURPOSES = ["analytics", "personalization", "session_personalization", "email_marketing", "targeted_advertising", "fairness_audit"];
const AA_TEXT_CONTRAST_MIN = 4.5;

/** The shop, logged in as `subject` with a token the "backend" minted, showing the banner. */
async function openShop(browser, subject) {
  const { page } = browser;
  await openShopAs(page, subject);
  await page.locator("#cnd-accept").waitFor();
  return page;
}

/** What the SDK keeps in this browser: the visitor session, wherever it is kept. */
async function keptVisitor(page) {
  return page.evaluate(() => ({
    local: JSON.parse(localStorage.getItem("candor.visitor")),
    session: JSON.parse(sessionStorage.getItem("candor.visitor")),
  }));
}

async function bannerGone(page) {
  await page.locator("#candor-consent").waitFor({ state: "detached" });
}

test("reject all: every consent purpose is denied and no event is sent or stored", async () => {
  const b = await open();
  try {
    const subject = newSubject("reject");
    const page = await openShop(b, subject);
    const eventPosts = [];
    page.on("request", (r) => { if (r.url().endsWith("/v1/events")) eventPosts.push(r); });
    await page.locator("#cnd-reject").click();
    await bannerGone(page);
    await page.getByRole("button", { name: /^View / }).first().click();
    await page.getByRole("button", { name: /^Add .* to cart$/ }).first().click();
    await page.evaluate(() => Candor.flush());
    await page.waitForTimeout(1500);

    const state = await consents(subject);
    for (const p of CONSENT_PURPOSES) {
      assert.equal(state[p].status, "denied", `${p}: ${state[p].reason}`);
      assert.equal(state[p].reason_code, "declined", p);
    }
    assert.equal(eventPosts.length, 0, "the SDK sent events nobody agreed to");
    assert.deepEqual(await storedEvents(subject), []);
    const stored = await page.evaluate(() => ({ choice: JSON.parse(localStorage.getItem("candor.choice")), anon: localStorage.getItem("candor.anonymousId") }));
    assert.equal(stored.choice.choice, "reject_all");
    assert.equal(stored.choice.subject, null);
    assert.equal(stored.anon, null, "an id was kept although nothing allows it");
    assert.deepEqual(await keptVisitor(page), { local: null, session: null }, "a visitor session was kept although nothing allows it");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("customize: personalization granted alone, its events stored, the rest denied", async () => {
  const b = await open();
  try {
    const subject = newSubject("personalize");
    const page = await openShop(b, subject);
    await page.locator("#cnd-customize").click();
    const boxes = page.locator("#candor-consent input[type=checkbox]");
    assert.ok((await boxes.count()) >= CONSENT_PURPOSES.length);
    await page.getByRole("checkbox", { name: "Personal recommendations", exact: true }).check();
    await page.locator("#cnd-customize").click(); // now "Save my choices"
    await bannerGone(page);

    const state = await consents(subject);
    assert.equal(state.personalization.status, "granted");
    assert.equal(state.personalization.allowed, true);
    for (const p of CONSENT_PURPOSES.filter((x) => x !== "personalization")) assert.equal(state[p].status, "denied", p);

    await page.getByRole("button", { name: /^View / }).first().click();
    await page.evaluate(() => Candor.flush());
    await page.waitForTimeout(500);
    const events = await storedEvents(subject);
    assert.ok(events.length >= 1, "the product view was not stored");
    for (const e of events) assert.deepEqual(e.purposes, ["personalization"], JSON.stringify(e));
    assert.ok(events.some((e) => e.event_type === "Product Viewed"));
    // Persisting the visitor session is allowed now; its id is Candor's, not the page's.
    const kept = (await keptVisitor(page)).local;
    assert.ok(kept, "the visitor session was not kept");
    assert.match(kept.token, /^cvt_/);
    assert.match(kept.anonymousId, /^v-[0-9a-f]{32}$/);
  } finally {
    await b.close();
  }
});

test("accept all grants every consent purpose", async () => {
  const b = await open();
  try {
    const subject = newSubject("accept");
    const page = await openShop(b, subject);
    await page.locator("#cnd-accept").click();
    await bannerGone(page);
    const state = await consents(subject);
    for (const p of CONSENT_PURPOSES) assert.equal(state[p].status, "granted", p);
    // The recommendation widget renders even where the endpoint does not exist yet.
    await page.locator("#recs .candor-recs-empty, #recs .candor-recs-list").first().waitFor();
  } finally {
    await b.close();
  }
});

test("Global Privacy Control: shown, and sale or sharing stays denied even after accept all", async () => {
  const b = await open({ gpc: true });
  try {
    const subject = newSubject("gpc");
    const page = await openShop(b, subject);
    await page.locator("[data-candor=gpc]").waitFor();
    await page.locator("#cnd-customize").click();
    const ads = page.getByRole("checkbox", { name: "Targeted advertising", exact: true });
    assert.equal(await ads.isChecked(), false);
    assert.equal(await ads.isDisabled(), true, "the sale/sharing purpose should be shown as off");
    await page.locator("#cnd-accept").click();
    await bannerGone(page);
    const state = await consents(subject);
    assert.equal(state.targeted_advertising.allowed, false);
    assert.equal(state.targeted_advertising.status, "denied");
    for (const p of CONSENT_PURPOSES.filter((x) => x !== "targeted_advertising")) assert.equal(state[p].status, "granted", p);
    assert.deepEqual(await page.evaluate(() => Candor.consent().gpc), true);
  } finally {
    await b.close();
  }
});

test("banner: Reject all is exactly as prominent as Accept all, nothing is pre-ticked", async () => {
  const b = await open();
  try {
    const page = await openShop(b, newSubject("banner"));
    const accept = page.locator("#cnd-accept");
    const reject = page.locator("#cnd-reject");
    const [a, r] = [await accept.boundingBox(), await reject.boundingBox()];
    assert.equal(Math.round(a.width), Math.round(r.width));
    assert.equal(Math.round(a.height), Math.round(r.height));
    assert.equal(Math.round(a.y), Math.round(r.y), "the buttons should sit on one line");
    const look = (l) => l.evaluate((n) => {
      const s = getComputedStyle(n);
      return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderTopWidth, s.borderTopColor, s.paddingTop, s.paddingLeft].join("|");
    });
    assert.equal(await look(accept), await look(reject));
    // Every purpose is shown with its exact plain-language text from the policy.
    const policy = (await api("GET", "/v1/policy")).body;
    const bannerText = await page.locator("#candor-consent .b").innerText();
    for (const p of policy.purposes) assert.ok(bannerText.includes(p.text), p.id);
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await screenshot(page, "banner.png");

    await page.locator("#cnd-customize").click();
    const checked = await page.locator("#candor-consent input[type=checkbox]").evaluateAll((xs) => xs.filter((x) => x.checked).length);
    assert.equal(checked, 0, "a purpose was pre-ticked");
    await screenshot(page, "banner-customize.png");
  } finally {
    await b.close();
  }
});

test("banner: the keyboard reaches every button, with a visible focus ring", async () => {
  const b = await open();
  try {
    const page = await openShop(b, newSubject("banner-keys"));
    const all = await controls(page, "#candor-consent");
    const seen = await tabThrough(page, 40);
    for (const id of all) assert.ok(seen.some((s) => s.key === id), `${id} not reachable by Tab`);
    for (const s of seen.filter((s) => s.key.startsWith("cnd-"))) assert.ok(s.outline, `${s.key} has no visible focus`);
    // And a choice can be made without a mouse.
    await page.locator("#cnd-reject").focus();
    await page.keyboard.press("Enter");
    await bannerGone(page);
  } finally {
    await b.close();
  }
});

test("privacy center: a switch grants, then withdraws, and the history shows both", async () => {
  const b = await open();
  try {
    const subject = newSubject("center");
    const { page } = b;
    await openPrivacyAs(page, subject);
    const sw = page.getByRole("switch", { name: "Personal recommendations", exact: true });
    await sw.waitFor();
    assert.equal(await sw.isChecked(), false);
    // Plain-language text and the reason are shown with each purpose.
    const row = page.locator(".purpose[data-purpose=personalization]");
    assert.match(await row.innerText(), /Remember what you view and buy/);
    assert.match(await row.innerText(), /no choice yet/);

    await sw.click();
    await page.getByRole("status").filter({ hasText: "Saved: Personal recommendations is now on." }).waitFor();
    assert.equal((await consents(subject)).personalization.status, "granted");
    assert.equal(await page.getByRole("switch", { name: "Personal recommendations", exact: true }).isChecked(), true);

    await page.getByRole("switch", { name: "Personal recommendations", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "is now off" }).waitFor();
    const after = await consents(subject);
    assert.equal(after.personalization.status, "denied");
    assert.equal(after.personalization.reason_code, "withdrawn");
    await page.locator("#told table tbody tr").nth(1).waitFor();

    // The contract purpose has no switch: it is not a choice.
    assert.equal(await page.locator(".purpose[data-purpose=order_fulfilment] input").count(), 0);
    // Sections whose endpoints are not there yet say so instead of breaking.
    await page.locator("#inferred [data-state], #inferred dl, #inferred p").first().waitFor();
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await screenshot(page, "privacy-center.png", { fullPage: true });
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("privacy center: deleting asks for confirmation first", async () => {
  const b = await open();
  try {
    const { page } = b;
    await openPrivacyAs(page, newSubject("delete"));
    await page.locator("#purposes .purpose").first().waitFor();
    const deletes = [];
    page.on("request", (r) => { if (r.method() === "DELETE") deletes.push(r.url()); });
    await page.locator("#delete-btn").click();
    assert.equal(await page.locator("#delete-confirm").isVisible(), true);
    await page.locator("#delete-no").click();
    assert.equal(await page.locator("#delete-confirm").isVisible(), false);
    assert.equal(deletes.length, 0, "cancel must not delete");
    await page.locator("#delete-btn").click();
    await page.locator("#delete-yes").click();
    await page.locator("#delete-status p").first().waitFor();
    assert.equal(deletes.length, 1);
  } finally {
    await b.close();
  }
});

test("privacy center: the keyboard reaches every control, with a visible focus ring", async () => {
  const b = await open();
  try {
    const { page } = b;
    await openPrivacyAs(page, newSubject("center-keys"));
    await page.locator("#purposes .purpose").first().waitFor();
    await page.locator("#told table, #told .muted").first().waitFor();
    const all = await controls(page);
    const seen = await tabThrough(page, all.length + 10);
    for (const id of all) assert.ok(seen.some((s) => s.key === id), `${id} not reachable by Tab`);
    for (const s of seen) assert.ok(s.outline, `${s.key} has no visible focus`);
    // Every control has an accessible name.
    const unnamed = await page.evaluate(() => [...document.querySelectorAll("button, input, select, textarea")]
      .filter((n) => !(n.labels && n.labels.length) && !n.getAttribute("aria-label") && !n.textContent.trim())
      .map((n) => n.id));
    assert.deepEqual(unnamed, []);
  } finally {
    await b.close();
  }
});

test("console: the admin key opens the data map; missing endpoints say not available yet", async () => {
  const b = await open();
  try {
    const { page } = b;
    // A server without the fairness flags endpoint answers 404 `not_found`, as an older one would.
    await page.route("**/v1/fairness/flags", (route) => route.fulfill({
      status: 404, contentType: "application/json", body: JSON.stringify({ error: { code: "not_found", message: "no such route" } }),
    }));
    await page.goto(`${BASE}/console/`);
    await page.getByLabel("Admin API key").fill("cnd_0000000000000000_" + "0".repeat(64));
    await page.getByRole("button", { name: "Use key" }).click();
    await page.getByRole("alert").waitFor();
    assert.equal(await page.locator("#dashboard").isVisible(), false);

    await page.getByLabel("Admin API key").fill(KEYS.admin);
    await page.getByRole("button", { name: "Use key" }).click();
    await page.locator("#data-map table").waitFor();
    assert.match(await page.locator("#data-map").innerText(), /Personal recommendations/);
    await page.locator("#fairness [data-state=unavailable]").waitFor();
    await page.locator("#lint [data-state=unavailable], #lint p, #lint ul").first().waitFor();
    await page.locator("#drops table, #drops p").first().waitFor();
    await page.locator("#consent-rates figure.chart").first().waitFor();
    await page.locator("#audit-status p").waitFor();
    await page.locator("#segments table, #segments .body p").first().waitFor();
    await page.locator("#campaigns table, #campaigns .body p").first().waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("candor.console.adminKey")), KEYS.admin);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "the admin key must not outlive the tab");

    const unnamed = await page.evaluate(() => [...document.querySelectorAll("button, input, select, textarea")]
      .filter((n) => !n.closest("[hidden]") && !(n.labels && n.labels.length) && !n.getAttribute("aria-label") && !n.textContent.trim())
      .map((n) => n.outerHTML));
    assert.deepEqual(unnamed, []);
    const all = await controls(page);
    const seen = await tabThrough(page, all.length + 10);
    for (const id of all) assert.ok(seen.some((s) => s.key === id), `${id} not reachable by Tab`);
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "console.png", { fullPage: true });
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("a changed policy version asks again", async () => {
  const b = await open();
  try {
    const subject = newSubject("reask");
    const page = await openShop(b, subject);
    await page.locator("#cnd-reject").click();
    await bannerGone(page);
    await page.reload();
    await page.locator("#products li").first().waitFor();
    await page.waitForTimeout(300);
    assert.equal(await page.locator("#candor-consent").count(), 0, "asked again under the same policy");
    await page.evaluate(() => {
      const c = JSON.parse(localStorage.getItem("candor.choice"));
      c.policyVersion = "an-older-version";
      localStorage.setItem("candor.choice", JSON.stringify(c));
    });
    await page.reload();
    await page.locator("#cnd-accept").waitFor();
  } finally {
    await b.close();
  }
});

// ---------------------------------------------------------------- personal links (subject tokens)

const tokenFor = subjectToken;

function personalLink(token, subject) {
  return privacyLink(subject, token);
}

/** A person who allows personalization and viewed `items`, as the shop would record it. */
async function person(subject, items, extra = []) {
  const grant = { decisions: [{ purpose: "personalization", decision: "granted" }, ...extra.map((p) => ({ purpose: p, decision: "granted" }))] };
  const c = await api("PUT", `/v1/subjects/${encodeURIComponent(subject)}/consents`, KEYS.ingest, grant);
  assert.equal(c.status, 200, JSON.stringify(c.body));
  const events = items.map((item, i) => ({ type: "track", event: "Product Viewed", userId: subject, messageId: `${subject}-${i}`, properties: { product_id: item } }));
  const e = await api("POST", "/v1/events", KEYS.ingest, { events });
  assert.equal(e.status, 200, JSON.stringify(e.body));
  for (const r of e.body.results) assert.equal(r.status, "accepted", JSON.stringify(r));
}

test("privacy center via a token link: only that person's data, and the token leaves the address bar", async () => {
  const b = await open();
  try {
    const ann = newSubject("token-ann");
    const bob = newSubject("token-bob");
    await person(ann, ["shoe-trail", "socks-wool"]);
    await person(bob, ["tent-2p", "stove-camp", "mug-enamel"], ["analytics"]);
    const token = await tokenFor(ann);
    const { page } = b;
    await page.goto(personalLink(token, ann));
    await page.getByRole("switch", { name: "Personal recommendations", exact: true }).waitFor();
    assert.equal(await page.evaluate(() => location.hash), "", "the token stayed in the address bar");
    assert.equal(await page.getByRole("switch", { name: "Personal recommendations", exact: true }).isChecked(), true);
    assert.equal(await page.locator("#purpose-analytics").isChecked(), false, "Bob's analytics grant shown to Ann");

    // What she told us and what we inferred are apart; her activity is hers alone.
    await page.locator("#activity table tbody tr").first().waitFor();
    const activity = await page.locator("#activity").innerText();
    assert.match(activity, /shoe-trail/);
    assert.doesNotMatch(activity, /tent-2p|stove-camp|mug-enamel/);
    await page.locator("#interests .interest").first().waitFor();
    assert.deepEqual(await page.locator("#interests .interest").evaluateAll((xs) => xs.map((x) => x.dataset.category)), ["running"]);
    assert.doesNotMatch(await page.locator("#told").innerText(), /running/, "an inference shown as something she told us");
    // Why she sees her recommendations: personalized, each item with its reasons.
    await page.locator("#basis[data-personalized=true]").waitFor();
    assert.ok((await page.locator("#why-list .why-item").count()) >= 1);

    // Her token opens nothing of Bob's: the page says so, and the API refuses.
    const refused = await page.evaluate(async ([t, who]) => {
      const r = await fetch(`/v1/subjects/${encodeURIComponent(who)}/consents`, { headers: { Authorization: `Bearer ${t}` } });
      return [r.status, (await r.json()).error.code];
    }, [token, bob]);
    assert.deepEqual(refused, [403, "token_wrong_subject"]);
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await screenshot(page, "privacy-center-token.png", { fullPage: true });

    await page.goto("about:blank");
    await page.goto(personalLink(token, bob));
    await page.locator("#session-problem [role=alert]").waitFor();
    assert.match(await page.locator("#session-problem").innerText(), /not valid/);
    assert.equal(await page.locator("#purposes input").count(), 0);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("privacy center: mute a category and remove an inferred interest", async () => {
  const b = await open();
  try {
    const subject = newSubject("mute");
    await person(subject, ["shoe-trail", "shoe-road", "tent-2p"]);
    const { page } = b;
    await page.goto(personalLink(await tokenFor(subject), subject));
    await page.locator("#interests .interest[data-category=outdoor]").waitFor();
    await page.getByRole("button", { name: "Remove the interest outdoor" }).click();
    await page.locator("#inferred-status .ok").waitFor();
    await page.locator("#muted-interests").waitFor();
    assert.equal(await page.locator("#interests .interest[data-category=outdoor]").count(), 0);

    await page.locator("#why-list").waitFor();
    const mute = page.getByRole("button", { name: /^Mute the category / }).first();
    const category = (await mute.getAttribute("aria-label")).replace("Mute the category ", "");
    await mute.click();
    await page.locator(`#muted-categories li[data-category="${category}"]`).waitFor();
    const prefs = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/preferences`, KEYS.decide);
    assert.ok(prefs.body.muted_categories.includes(category), JSON.stringify(prefs.body));
    const recs = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/recommendations`, KEYS.decide);
    for (const it of recs.body.items) assert.ok(!it.categories.includes(category), JSON.stringify(it));

    // Every new control is named, reachable by Tab, with a visible focus ring.
    const unnamed = await page.evaluate(() => [...document.querySelectorAll("button, input")]
      .filter((n) => !(n.labels && n.labels.length) && !n.getAttribute("aria-label") && !n.textContent.trim())
      .map((n) => n.outerHTML));
    assert.deepEqual(unnamed, []);
    await page.evaluate(() => window.scrollTo(0, 0));
    const all = await controls(page);
    const seen = await tabThrough(page, all.length + 10);
    for (const id of all) assert.ok(seen.some((s) => s.key === id), `${id} not reachable by Tab`);
    for (const s of seen) assert.ok(s.outline, `${s.key} has no visible focus`);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("privacy center: download my data saves the JSON export", async () => {
  const b = await open();
  try {
    const subject = newSubject("download");
    await person(subject, ["mug-enamel"]);
    const { page } = b;
    await page.goto(personalLink(await tokenFor(subject), subject));
    await page.locator("#activity table").waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download-btn").click()]);
    assert.equal(download.suggestedFilename(), "my-data.json");
    const data = JSON.parse(readFileSync(await download.path(), "utf8"));
    assert.equal(data.provided.events.length, 1);
    assert.equal(data.provided.events[0].item_id, "mug-enamel");
    assert.equal(data.provided.consents.current.purposes.find((p) => p.purpose === "personalization").allowed, true);
    assert.deepEqual(data.inferred.interests.map((i) => i.category), ["kitchen"]);
    await page.getByRole("status").filter({ hasText: "downloading as my-data.json" }).waitFor();
  } finally {
    await b.close();
  }
});

test("privacy center: delete with confirmation shows a receipt, and the data is gone", async () => {
  const b = await open();
  try {
    const subject = newSubject("erase");
    await person(subject, ["shoe-road", "socks-wool"]);
    const token = await tokenFor(subject);
    const { page } = b;
    await page.goto(personalLink(token, subject));
    await page.locator("#activity table").waitFor();
    await page.locator("#delete-btn").click();
    await page.locator("#delete-no").click();
    assert.equal((await storedEvents(subject)).length, 2, "cancel deleted something");
    await page.locator("#delete-btn").click();
    await page.locator("#delete-yes").click();
    await page.locator("#receipt").waitFor();
    const receipt = await page.locator("#receipt").innerText();
    assert.match(receipt, /Request \d+, completed/);
    assert.match(receipt, /events\s+2/);
    assert.equal(await page.evaluate(() => document.activeElement.id), "receipt", "focus moves to the receipt");
    await page.locator("#no-activity").waitFor();

    assert.match(await page.locator("#delete-status").innerText(), /This link has ended/);
    assert.equal(await page.locator("#signout-btn").isDisabled(), true);

    assert.deepEqual(await storedEvents(subject), []);
    const exported = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/export`, KEYS.admin);
    assert.equal(exported.status, 404, JSON.stringify(exported.body));
    // The person's tokens ended with their data.
    const after = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/consents`, token);
    assert.equal(after.status, 401, JSON.stringify(after.body));
    await screenshot(page, "privacy-center-deleted.png", { fullPage: true });
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

async function viewInShop(page, subject, title) {
  await openShopAs(page, subject);
  await page.locator("#cnd-accept").click();
  await bannerGone(page);
  await page.getByRole("button", { name: `View ${title}`, exact: true }).click();
  await page.evaluate(() => Candor.flush());
}

async function reloadRecs(page) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/recommendations")),
    page.evaluate(() => Candor.recommendations(document.getElementById("recs"), { slot: "home", n: 4 })),
  ]);
  return res.json();
}

test("shop widget: \"why this?\" shows the item's reasons and the basis", async () => {
  const b = await open();
  try {
    const subject = newSubject("why");
    const { page } = b;
    await viewInShop(page, subject, "Trail running shoes");
    let answer = await reloadRecs(page);
    for (let i = 0; i < 20 && !answer.personalized; i += 1) answer = await reloadRecs(page); // the view lands first
    assert.equal(answer.personalized, true, JSON.stringify(answer.basis));
    assert.ok(answer.items.length >= 1);
    await page.locator("#recs[data-personalized=true] .candor-rec").first().waitFor();
    const first = answer.items[0];
    const why = page.getByRole("button", { name: `Why this? ${first.title}`, exact: true });
    assert.equal(await why.getAttribute("aria-expanded"), "false");
    await why.click();
    assert.equal(await why.getAttribute("aria-expanded"), "true");
    const pop = page.locator(`#${await why.getAttribute("aria-controls")}`);
    const shown = await pop.locator("li").allInnerTexts();
    assert.deepEqual(shown, first.reasons.map((r) => r.text).slice(0, shown.length));
    assert.ok(shown.length >= 1);
    assert.equal(await pop.locator(".candor-why-basis").innerText(), answer.basis.message);
    await screenshot(page, "shop-why-this.png");
    await page.keyboard.press("Escape");
    assert.equal(await pop.isVisible(), false);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("pausing personalization in the privacy center turns the shop's list non-personalized", async () => {
  const b = await open();
  try {
    const subject = newSubject("pause");
    const { page } = b;
    await viewInShop(page, subject, "Camping stove");
    let answer = await reloadRecs(page);
    for (let i = 0; i < 20 && !answer.personalized; i += 1) answer = await reloadRecs(page);
    assert.equal(answer.personalized, true, JSON.stringify(answer.basis));

    await page.goto(personalLink(await tokenFor(subject), subject));
    const pause = page.getByRole("switch", { name: "Pause personalization" });
    await page.locator("#basis[data-personalized=true]").waitFor();
    assert.equal(await pause.isChecked(), false);
    await pause.check();
    await page.getByRole("status").filter({ hasText: "Personalization is paused." }).waitFor();
    await page.locator("#basis[data-personalized=false][data-basis=paused]").waitFor();

    await openShopAs(page, subject);
    await page.locator("#recs[data-personalized=false] .candor-basis").waitFor();
    assert.match(await page.locator("#recs .candor-basis").innerText(), /paused/);
    const recs = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/recommendations`, KEYS.decide);
    assert.equal(recs.body.personalized, false);
    assert.equal(recs.body.basis.code, "paused");
  } finally {
    await b.close();
  }
});

test("the demo shop's privacy-center link opens the shopper's own center with a token", async () => {
  const b = await open();
  try {
    const { page } = b;
    await page.goto(`${BASE}/shop/`);
    await page.locator("#cnd-reject").click();
    await bannerGone(page);
    assert.match(await page.locator("#who").innerText(), /Logged in as demo-shopper/);
    const href = await page.locator("#privacy-link").getAttribute("href");
    assert.match(href, /^\/privacy\/#token=cst_[^&]+&subject=demo-shopper$/);
    await page.locator("#privacy-link").click();
    await page.getByRole("switch", { name: "Personal recommendations", exact: true }).waitFor();
    assert.equal(await page.locator("#session-problem").isVisible(), false);
    assert.equal(await page.getByRole("switch", { name: "Personal recommendations", exact: true }).isChecked(), false);
  } finally {
    await b.close();
  }
});

// ---------------------------------------------------------------- who holds what

/** Every Authorization and Candor-Visitor-Token header the page sends, as the server sees them. */
function credentialsSent(page) {
  const sent = [];
  page.on("request", (r) => {
    const h = r.headers();
    if (h.authorization) sent.push({ url: r.url(), credential: h.authorization.replace(/^Bearer /, "") });
    if (h["candor-visitor-token"]) sent.push({ url: r.url(), credential: h["candor-visitor-token"] });
  });
  return sent;
}

const SERVER_KEYS = () => [KEYS.admin, KEYS.ingest, KEYS.decide, KEYS.sessions];

test("the shop's page holds and sends only the publishable key and tokens, never a server key", async () => {
  const b = await open();
  try {
    const { page } = b;
    const sent = credentialsSent(page);
    const subject = newSubject("holds");
    await openShopAs(page, subject);
    await page.locator("#cnd-accept").click();
    await bannerGone(page);
    await page.getByRole("button", { name: /^View / }).first().click();
    await page.evaluate(() => Candor.flush());
    await page.locator("#recs .candor-recs-list, #recs .candor-recs-empty").first().waitFor();

    const config = await (await fetch(`${BASE}/shop/config.js`)).text();
    const held = await page.evaluate(() => JSON.stringify({
      demo: window.CandorDemo, local: { ...localStorage }, session: { ...sessionStorage },
    }));
    for (const text of [config, held, JSON.stringify(sent)]) {
      assert.doesNotMatch(text, /cnd_sk_/);
      for (const key of SERVER_KEYS()) assert.ok(!text.includes(key), "a server key reached the page");
    }
    assert.ok(sent.length > 0);
    for (const { url, credential } of sent) {
      assert.match(credential, /^(cnd_pk_|cvt_|cst_)/, url);
      if (credential.startsWith("cnd_pk_")) {
        assert.ok(/\/v1\/(visitor-sessions|policy)$/.test(new URL(url).pathname), `the publishable key went to ${url}`);
      }
    }
    // The SDK itself refuses server keys, whatever the option is called.
    const refusals = await page.evaluate(() => {
      const fake = "cnd_sk_" + "0".repeat(16) + "_" + "0".repeat(64);
      return [{ publishableKey: fake }, { key: fake }, { publishableKey: "cnd_pk_x", decideKey: fake }, {}].map((o) => {
        try { Candor.init(o); return "accepted"; } catch (e) { return e.message; }
      });
    });
    for (const r of refusals) assert.match(r, /publishable key \(cnd_pk_\.\.\.\); server keys must stay on your backend/);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("attack: from the shop, nothing the page holds reads or changes another person's data", async () => {
  const b = await open();
  try {
    const victim = newSubject("victim");
    await person(victim, ["shoe-trail", "socks-wool"], ["analytics"]);
    const vpath = `/v1/subjects/${encodeURIComponent(victim)}`;
    const snapshot = async () => ({
      consents: await consents(victim),
      events: (await storedEvents(victim)).map((e) => e.item_id).sort(),
      preferences: (await api("GET", `${vpath}/preferences`)).body,
      exported: (await api("GET", `${vpath}/export`)).status,
      restricted: (await api("GET", `${vpath}/export`)).body.processing.restricted_since,
    });
    const before = await snapshot();
    assert.equal(before.exported, 200);
    assert.equal(before.events.length, 2);

    // The attacker is an ordinary logged-in shopper who chose "accept all", so the page holds
    // every kind of credential a page can: the publishable key, the demo shopper's token from
    // the demo configuration, their own subject token, and a visitor token in storage.
    const { page } = b;
    const mallory = newSubject("mallory");
    await openShopAs(page, mallory);
    await page.locator("#cnd-accept").click();
    await bannerGone(page);
    await page.waitForFunction(() => localStorage.getItem("candor.visitor"));

    const { held, answers, events } = await page.evaluate(async (target) => {
      const creds = [];
      const demo = window.CandorDemo || {};
      if (demo.publishableKey) creds.push(["publishable key", demo.publishableKey]);
      if (demo.subjectToken) creds.push(["demo shopper's subject token", demo.subjectToken]);
      const login = JSON.parse(sessionStorage.getItem("candor.shop.login") || "null");
      if (login && login.token) creds.push(["own subject token", login.token]);
      const visitor = JSON.parse(localStorage.getItem("candor.visitor") || "null");
      if (visitor) creds.push(["visitor token", visitor.token]);
      creds.push(["no credential", null]);
      const s = `/v1/subjects/${encodeURIComponent(target)}`;
      const deny = { decisions: [{ purpose: "personalization", decision: "withdrawn" }, { purpose: "email_marketing", decision: "granted" }], source: "banner", choice: "individual" };
      const attempts = [
        ["GET", `${s}/recommendations`],
        ["GET", `${s}/consents`],
        ["GET", `${s}/consents/history`],
        ["GET", `${s}/preferences`],
        ["GET", `${s}/export`],
        ["GET", `${s}/explanations?item=shoe-trail`],
        ["PUT", `${s}/consents`, deny],
        ["POST", `${s}/feedback`, { action: "pause_personalization" }],
        ["POST", `${s}/restriction`],
        ["POST", `${s}/objection`],
        ["DELETE", `${s}/interests/running`],
        ["POST", `${s}/sessions/revoke`],
        ["DELETE", s],
        ["POST", "/v1/subject-tokens", { subject: target }],
      ];
      const call = async (method, path, cred, body, extra = {}) => {
        const headers = { ...extra };
        if (cred) headers.Authorization = `Bearer ${cred}`;
        if (body) headers["Content-Type"] = "application/json";
        const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
        let data = null;
        try { data = await r.json(); } catch (e) { /* no body */ }
        return { status: r.status, data };
      };
      const out = [];
      for (const [name, cred] of creds) {
        for (const [method, path, body] of attempts) {
          const r = await call(method, path, cred, body);
          out.push({ name, method, path, status: r.status, code: r.data && r.data.error && r.data.error.code });
        }
      }
      // Events naming the victim: refused one by one, with any token, also when merging.
      const ev = (extra) => ({ type: "track", event: "Product Viewed", messageId: crypto.randomUUID(), properties: { product_id: "tent-2p" }, ...extra });
      const evs = [];
      for (const [name, cred] of creds) {
        if (!cred) continue;
        const r = await call("POST", "/v1/events", cred, { events: [ev({ userId: target }), ev({ type: "identify", userId: target, anonymousId: visitor.anonymousId })] },
          visitor ? { "Candor-Visitor-Token": visitor.token } : {});
        evs.push({ name, status: r.status, results: r.data && r.data.results });
      }
      return { held: creds.map((c) => c[0]), answers: out, events: evs };
    }, victim);

    assert.deepEqual(held, ["publishable key", "demo shopper's subject token", "own subject token", "visitor token", "no credential"]);
    const let_through = answers.filter((a) => a.status !== 401 && a.status !== 403);
    assert.deepEqual(let_through, [], "answers other than 401/403");
    for (const e of events) {
      if (e.status === 200) {
        for (const r of e.results) {
          assert.equal(r.status, "invalid", `${e.name}: ${JSON.stringify(r)}`);
          assert.equal(r.reason, "subject_not_yours", `${e.name}: ${JSON.stringify(r)}`);
        }
      } else {
        assert.ok(e.status === 401 || e.status === 403, `${e.name}: ${e.status}`);
      }
    }
    assert.ok(events.some((e) => e.status === 200), "no token was tried on events");
    // Not even for themselves may a page record a parent's consent: that takes a server key.
    const parental = await page.evaluate(async ([id, t]) => {
      const r = await fetch(`/v1/subjects/${encodeURIComponent(id)}/consents`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${t}`, "Content-Type": "application/json" },
        body: JSON.stringify({ decisions: [{ purpose: "personalization", decision: "granted" }], source: "parental",
          evidence: { guardian_verified_by: "the page says so" } }),
      });
      return [r.status, (await r.json()).error.code];
    }, [mallory, await page.evaluate(() => JSON.parse(sessionStorage.getItem("candor.shop.login")).token)]);
    assert.deepEqual(parental, [403, "needs_server_key"]);
    // Nothing of the victim's changed.
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("an anonymous visitor: the id is Candor's, no privacy-center link, and logging in merges the visit", async () => {
  const b = await open();
  try {
    const { page } = b;
    await openShopAnonymously(page);
    await page.locator("#cnd-accept").waitFor();
    assert.match(await page.locator("#who").innerText(), /visitor/);
    assert.equal(await page.locator("#privacy-link").isVisible(), false);
    assert.match(await page.locator("#privacy-note").innerText(), /needs you to be logged in/);
    await page.locator("#cnd-accept").click();
    await bannerGone(page);
    const anon = await page.evaluate(() => Candor.consent().subject);
    assert.match(anon, /^v-[0-9a-f]{32}$/);
    assert.equal((await consents(anon)).personalization.status, "granted");

    await page.getByRole("button", { name: "View Enamel mug", exact: true }).click();
    await page.evaluate(() => Candor.flush());
    await page.waitForTimeout(300);
    assert.deepEqual((await storedEvents(anon)).filter((e) => e.item_id).map((e) => e.item_id), ["mug-enamel"]);

    // An identify without the person's token names nobody: no userId leaves the page.
    const posted = [];
    page.on("request", (r) => { if (r.url().endsWith("/v1/events")) posted.push(r.postDataJSON()); });
    const someone = newSubject("claimed");
    await page.evaluate((id) => { Candor.identify(id, { plan: "gold" }); return Candor.flush(); }, someone);
    assert.ok(posted.length >= 1);
    for (const body of posted) for (const e of body.events) {
      assert.equal(e.userId, undefined, JSON.stringify(e));
      assert.equal(e.anonymousId, anon);
    }
    assert.deepEqual(await storedEvents(someone), []);

    // The shop's backend logs the person in; they had allowed personalization only (say, on
    // another device). The page merges the visitor into them, under their own choice.
    const subject = newSubject("merged");
    const grant = await api("PUT", `/v1/subjects/${encodeURIComponent(subject)}/consents`, KEYS.ingest,
      { decisions: CONSENT_PURPOSES.map((p) => ({ purpose: p, decision: p === "personalization" ? "granted" : "denied" })) });
    assert.equal(grant.status, 200, JSON.stringify(grant.body));
    const token = await subjectToken(subject);
    const sent = [];
    page.on("request", (r) => { if (r.url().endsWith("/v1/events")) sent.push(r.headers()); });
    const merged = await page.evaluate(([id, t]) => Candor.login(id, t), [subject, token]);
    assert.ok(merged && merged.results, JSON.stringify(merged));
    for (const r of merged.results) assert.equal(r.status, "accepted", JSON.stringify(r));
    assert.ok(merged.results.some((r) => r.merged_events >= 1), JSON.stringify(merged));
    const headers = sent[sent.length - 1];
    assert.match(headers.authorization, /^Bearer cst_/);
    assert.match(headers["candor-visitor-token"], /^cvt_/);
    const now = await page.evaluate(() => Candor.consent());
    assert.equal(now.subject, subject);
    assert.equal(now.allowed.includes("personalization"), true);
    assert.equal(now.allowed.includes("analytics"), false, "the visitor's choice overrode the person's");
    let events = [];
    for (let i = 0; i < 20 && !events.some((e) => e.item_id === "mug-enamel"); i += 1) {
      events = await storedEvents(subject);
      if (!events.length) await page.waitForTimeout(100);
    }
    assert.ok(events.some((e) => e.item_id === "mug-enamel"), `the visit was not merged: ${JSON.stringify(events)}`);
    // From now on the person's own events go in under their id.
    await page.getByRole("button", { name: "View Rain jacket", exact: true }).click();
    await page.evaluate(() => Candor.flush());
    await page.waitForTimeout(300);
    assert.ok((await storedEvents(subject)).some((e) => e.item_id === "jacket-rain"));
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("logging in someone who never chose asks them, then merges the visit", async () => {
  const b = await open();
  try {
    const { page } = b;
    await openShopAnonymously(page);
    await page.locator("#cnd-accept").click();
    await bannerGone(page);
    await page.getByRole("button", { name: "View Trail running shoes", exact: true }).click();
    await page.evaluate(() => Candor.flush());
    const subject = newSubject("first-login");
    const token = await subjectToken(subject);
    const login = page.evaluate(([id, t]) => Candor.login(id, t, { plan: "trail" }), [subject, token]);
    await page.locator("#cnd-accept").waitFor();
    assert.deepEqual(await storedEvents(subject), [], "sent before the person chose");
    await page.locator("#cnd-accept").click();
    const merged = await login;
    assert.ok(merged.results.some((r) => r.merged_events >= 1), JSON.stringify(merged));
    assert.equal((await consents(subject)).personalization.status, "granted");
    assert.ok((await storedEvents(subject)).some((e) => e.item_id === "shoe-trail"));
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("the visitor session: kept when allowed, renewed near its expiry, replaced when refused", async () => {
  const b = await open();
  try {
    const { page } = b;
    const starts = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/v1/visitor-sessions")) starts.push(r.headers().authorization.replace(/^Bearer /, "").match(/^(cnd_pk_|cvt_)/)[1]);
    });
    await openShopAnonymously(page);
    await page.locator("#cnd-accept").click();
    await bannerGone(page);
    const first = (await keptVisitor(page)).local;
    assert.deepEqual(starts, ["cnd_pk_"]);

    // Reloaded: the stored session is used as it is.
    await page.reload();
    await page.locator("#recs .candor-recs-list, #recs .candor-recs-empty").first().waitFor();
    assert.equal(await page.locator("#candor-consent").count(), 0, "asked again for the same visitor");
    assert.deepEqual(starts, ["cnd_pk_"]);
    assert.equal(await page.evaluate(() => Candor.consent().subject), first.anonymousId);

    // Within a day of its expiry: renewed with its own token, same visitor, later expiry.
    await page.evaluate(() => {
      const v = JSON.parse(localStorage.getItem("candor.visitor"));
      v.expiresAt = new Date(Date.now() + 3600 * 1000).toISOString();
      localStorage.setItem("candor.visitor", JSON.stringify(v));
    });
    await page.reload();
    await page.locator("#recs .candor-recs-list, #recs .candor-recs-empty").first().waitFor();
    assert.deepEqual(starts, ["cnd_pk_", "cvt_"]);
    const renewed = (await keptVisitor(page)).local;
    assert.equal(renewed.anonymousId, first.anonymousId);
    assert.ok(Date.parse(renewed.expiresAt) > Date.now() + 3600 * 1000, renewed.expiresAt);

    // A token the server refuses: a fresh session, once, and the page carries on.
    await page.evaluate(() => {
      const v = JSON.parse(localStorage.getItem("candor.visitor"));
      v.token = "cvt_not-a-real-token";
      localStorage.setItem("candor.visitor", JSON.stringify(v));
    });
    await page.reload();
    await page.waitForFunction((old) => Candor.consent().subject !== old, first.anonymousId);
    await page.locator("#products-source", { hasText: "From the shop's catalog." }).waitFor();
    assert.deepEqual(starts, ["cnd_pk_", "cvt_", "cnd_pk_"]);
    const fresh = await page.evaluate(() => Candor.consent().subject);
    assert.match(fresh, /^v-[0-9a-f]{32}$/);
    assert.notEqual(fresh, first.anonymousId);
    // Nothing is kept of the new visitor before they choose, and nothing of the old one.
    const kept = await keptVisitor(page);
    assert.equal(kept.local, null);
    assert.equal(kept.session, null);
    // The choice was recorded for the old visitor, so the next visit asks the new one.
    assert.equal(await page.evaluate(() => localStorage.getItem("candor.choice")), null);
    await page.reload();
    await page.locator("#cnd-accept").waitFor();
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("privacy center: sign out everywhere voids every token issued so far", async () => {
  const b = await open();
  try {
    const subject = newSubject("signout");
    await person(subject, ["stove-camp"]);
    const other = await subjectToken(subject); // say, the shop open on a phone
    const { page } = b;
    const token = await openPrivacyAs(page, subject);
    await page.locator("#activity table").waitFor();
    const revokes = [];
    page.on("request", (r) => { if (r.url().endsWith("/sessions/revoke")) revokes.push(r.method()); });
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    const note = page.locator("#session-problem [role=status]");
    await note.waitFor();
    assert.deepEqual(revokes, ["POST"]);
    assert.match(await note.innerText(), /signed out everywhere/);
    assert.match(await note.innerText(), /no longer works/);
    assert.equal(await page.evaluate(() => document.activeElement.closest("#session-problem") !== null), true);
    assert.equal(await page.locator("#purposes input").count(), 0, "the data stayed on screen");
    assert.equal(await page.locator("#signout-btn").isDisabled(), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("candor.privacy.session")), null);
    await screenshot(page, "privacy-center-signed-out.png");

    // Both tokens are dead now, whoever holds them; the data is untouched.
    for (const t of [token, other]) {
      const r = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/consents`, t);
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.equal(r.body.error.code, "token_revoked");
    }
    assert.equal((await storedEvents(subject)).length, 1);

    // The old link says so plainly and points back to the shop.
    await openPrivacyAs(page, subject, token);
    await page.locator("#session-problem [role=alert]").waitFor();
    assert.match(await page.locator("#session-problem").innerText(), /signed out everywhere/);
    assert.match(await page.locator("#session-problem").innerText(), /from the shop/);
    // A link issued afterwards works.
    await page.waitForTimeout(1100);
    await openPrivacyAs(page, subject);
    await page.locator("#activity table").waitFor();
    assert.equal(await page.locator("#session-problem").isVisible(), false);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("privacy center: an expired link, and no link, say so and point to the shop", async () => {
  const b = await open();
  try {
    const { page } = b;
    const subject = newSubject("expired");
    const token = await subjectToken(subject, { ttl_seconds: 1 });
    await page.waitForTimeout(1500);
    await openPrivacyAs(page, subject, token);
    await page.locator("#session-problem [role=alert]").waitFor();
    const text = await page.locator("#session-problem").innerText();
    assert.match(text, /expired/);
    assert.match(text, /from the shop/);
    assert.equal(await page.locator("#purposes input").count(), 0);

    // An operator-style link with a key is not a way in any more; nothing is sent with it.
    const sent = credentialsSent(page);
    await page.goto("about:blank");
    await page.goto(`${BASE}/privacy/?subject=${encodeURIComponent(subject)}&key=cnd_sk_0000000000000000_${"0".repeat(64)}`);
    await page.locator("#session-problem [role=alert]").waitFor();
    assert.match(await page.locator("#session-problem").innerText(), /personal link from the shop/);
    assert.deepEqual(sent, []);
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("console: the request queue lists an erasure with its deadline, and the charts draw", async () => {
  const b = await open();
  try {
    const subject = newSubject("queue");
    await person(subject, ["bottle-steel"]);
    const erased = await api("DELETE", `/v1/subjects/${encodeURIComponent(subject)}`, KEYS.admin);
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    const id = String(erased.body.receipt.request_id);
    const { page } = b;
    await page.goto(`${BASE}/console/`);
    await page.getByLabel("Admin API key").fill(KEYS.admin);
    await page.getByRole("button", { name: "Use key" }).click();
    const row = page.locator("#dsr tbody tr[data-kind=erasure]").filter({ has: page.locator("td:first-child", { hasText: new RegExp(`^${id}$`) }) });
    await row.waitFor();
    assert.match(await row.innerText(), /erasure/);
    assert.match(await row.innerText(), /completed/);
    assert.match(await page.locator("#dsr-summary").innerText(), /requests: \d+ open/);
    await page.locator("#dsr figure.chart svg[role=img]").waitFor();
    assert.match(await page.locator("#dsr figure.chart svg").getAttribute("aria-label"), /erasure \d+/);
    // The data subject is never named in the queue, only a keyed hash.
    assert.doesNotMatch(await page.locator("#dsr").innerText(), new RegExp(subject));
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await page.evaluate(() => document.getElementById("dsr").scrollIntoView());
    await screenshot(page, "console-dsr.png");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

// ---------------------------------------------------------------- operator console views

async function signIn(page) {
  await page.goto(`${BASE}/console/`);
  await page.getByLabel("Admin API key").fill(KEYS.admin);
  await page.getByRole("button", { name: "Use key" }).click();
  await page.locator("#data-map table").waitFor();
}

/** A fresh resource id no other test (or run against the same server) uses. */
function freshId(label) {
  return `${label}-${process.pid}-${Date.now().toString(36)}`;
}

test("console: a lint error shows live at its line and column, and clears when fixed", async () => {
  const b = await open();
  try {
    const { page } = b;
    await signIn(page);
    await page.locator("#rule-purpose").selectOption("email_marketing");
    const rule = page.getByLabel("Rule", { exact: true });
    await rule.fill('views(30d) >= 1 and\n  interest("running") >=');
    const error = page.locator('#lint li.error[data-line="2"]');
    await error.waitFor();
    assert.match(await error.innerText(), /^2:\d+ /);
    assert.equal(await rule.getAttribute("aria-invalid"), "true");
    const column = Number(await error.getAttribute("data-column"));
    assert.ok(column > 1, `column ${column}`);
    // The caret sits under the column the server named.
    const caretLine = (await error.locator("pre").innerText()).split("\n")[1];
    assert.equal(caretLine.indexOf("^") + 1, column);
    await screenshotOf(page.locator("#segments"), "console-segment-lint.png");

    // Typing the missing value fixes it; the editor waits for a pause, not every keystroke.
    const lints = [];
    page.on("request", (r) => { if (r.url().endsWith("/v1/segments/lint")) lints.push(r); });
    await rule.press("End");
    await rule.pressSequentially(" 0.2", { delay: 40 });
    await page.locator("#lint[data-state=clean] .ok").waitFor();
    assert.equal(await page.locator("#lint li").count(), 0);
    assert.equal(await rule.getAttribute("aria-invalid"), "false");
    assert.ok(lints.length <= 2, `${lints.length} lint requests for 4 keystrokes`);

    // A declared proxy attribute is a warning, not an error.
    await rule.fill('attribute("first_name") == "Ann"');
    await page.locator("#lint[data-state=warnings] li.warning[data-code=proxy_attribute]").waitFor();
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("console: saving a segment previews its size, suppressed below k, never a number", async () => {
  const b = await open();
  try {
    const { page } = b;
    await signIn(page);
    const id = freshId("cooks");
    await page.locator("#segment-id").fill(id);
    await page.getByLabel("Name", { exact: true }).fill("Cooks");
    await page.locator("#rule-purpose").selectOption("email_marketing");
    await page.locator("#rule").fill('interest("kitchen") >= 0.5');
    await page.locator("#lint[data-state=clean]").waitFor();
    await page.getByRole("button", { name: "Save segment" }).click();
    await page.locator("#segment-status .ok").waitFor();
    const size = page.locator(`#preview-${id}[data-preview=suppressed]`);
    await size.waitFor();
    const text = await size.innerText();
    assert.match(text, /^fewer than 10 people/);
    assert.doesNotMatch(text.replace(/k = 10|fewer than 10/g, ""), /\d/, "a suppressed size leaked a number");
    const api_ = await api("GET", `/v1/segments/${id}/preview`);
    assert.equal(api_.body.size, "fewer than 10");

    // Saving it again is refused next to the field it is about.
    await page.getByRole("button", { name: "Save segment" }).click();
    await page.locator("#segment-id-error").waitFor();
    assert.match(await page.locator("#segment-id-error").innerText(), /already exists/);
    assert.equal(await page.locator("#segment-id").getAttribute("aria-invalid"), "true");
    await screenshotOf(page.locator("#segments"), "console-segments.png");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("console: a campaign made in the form, its dry run with the exclusion breakdown", async () => {
  const b = await open();
  try {
    const segment = freshId("browsers");
    const seg = await api("POST", "/v1/segments", KEYS.admin, { id: segment, name: "Browsers", purpose: "email_marketing", rule: "views(30d) >= 1" });
    assert.equal(seg.status, 201, JSON.stringify(seg.body));
    const { page } = b;
    await signIn(page);
    await page.locator(`#campaign-segment option[value="${segment}"]`).waitFor({ state: "attached" });
    const id = freshId("autumn");
    await page.locator("#campaign-id").fill(id);
    await page.locator("#campaign-segment").selectOption(segment);
    // A field error from the API lands on its field: email needs an unsubscribe link.
    await page.locator("#campaign-template").fill("Hello {{first_name}}");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.locator("#campaign-template-error").waitFor();
    assert.equal(await page.locator("#campaign-template").getAttribute("aria-invalid"), "true");
    await page.locator("#campaign-template").fill("Hello {{first_name}}: {{recommendations}}. Unsubscribe: {{unsubscribe_url}}");
    await page.getByRole("button", { name: "Create campaign" }).click();
    // The detail opens at once and fills in when the campaign has been read.
    await page.locator(`#campaign-detail[data-campaign="${id}"] #campaign-info[data-state=done]`).waitFor();
    assert.equal(await page.locator("#campaign-template-error").count(), 0);
    assert.match(await page.locator("#campaign-detail").innerText(), new RegExp(segment));

    await page.getByRole("button", { name: "Dry run" }).click();
    await page.locator("#campaign-run[data-state=done] figure.chart svg[role=img]").waitFor();
    const expected = await api("POST", `/v1/campaigns/${id}/run?dry_run=true`);
    assert.equal(expected.status, 200, JSON.stringify(expected.body));
    assert.ok(Object.keys(expected.body.excluded).length >= 5, JSON.stringify(expected.body));
    const rows = await page.locator("#campaign-run-table tbody tr").evaluateAll((trs) =>
      Object.fromEntries(trs.map((tr) => [tr.dataset.reason, tr.cells[1].textContent])));
    assert.equal(rows.selected, String(expected.body.selected));
    for (const [reason, n] of Object.entries(expected.body.excluded)) assert.equal(rows[reason], String(n), reason);
    const label = await page.locator("#campaign-run svg").getAttribute("aria-label");
    assert.match(label, /excluded: no consent/);
    // Nothing was recorded: a dry run leaves no run behind.
    assert.equal(expected.body.run_id, undefined);
    await page.locator("#campaign-fairness p").first().waitFor();
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await screenshotOf(page.locator("#campaigns"), "console-campaign-dry-run.png");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("console: the audit log shows its verified status and pages through the chain", async () => {
  const b = await open();
  try {
    // Enough entries for two pages of twenty: each consent decision is one entry.
    const subject = newSubject("audit");
    for (const decision of ["granted", "denied", "granted", "denied"]) {
      const decisions = CONSENT_PURPOSES.map((purpose) => ({ purpose, decision }));
      const r = await api("PUT", `/v1/subjects/${encodeURIComponent(subject)}/consents`, KEYS.ingest, { decisions });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const verdict = await api("GET", "/v1/audit/verify");
    assert.equal(verdict.status, 200);
    assert.equal(verdict.body.ok, true, JSON.stringify(verdict.body));
    const { page } = b;
    await signIn(page);
    const status = page.locator("#audit-status[data-state=verified]");
    await status.waitFor();
    const text = await status.innerText();
    const shown = Number(text.match(/all (\d+) entries/)[1]);
    assert.ok(shown >= verdict.body.entries, `${shown} < ${verdict.body.entries}`);
    assert.match(text, new RegExp(`Head ${verdict.body.head.slice(0, 16)}`));

    await page.locator("#audit tbody tr").first().waitFor();
    assert.equal(await page.locator("#audit tbody tr").count(), 20);
    assert.equal(await page.locator("#audit tbody tr:first-child td:first-child").innerText(), "1");
    await page.getByRole("button", { name: "Next page" }).click();
    await page.locator("#audit tbody tr:first-child td:first-child", { hasText: /^21$/ }).waitFor();
    assert.match(await page.locator("#audit-page").innerText(), /^Entries 21 to/);
    // The log never names the person, only a digest.
    assert.doesNotMatch(await page.locator("#audit").innerText(), new RegExp(subject));
    await page.getByRole("button", { name: "First page" }).click();
    await page.locator("#audit tbody tr:first-child td:first-child", { hasText: /^1$/ }).waitFor();
    await screenshotOf(page.locator("#audit"), "console-audit.png");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("console: the consent-rates chart draws the ledger's counts, suppressed below k", async () => {
  const b = await open();
  try {
    for (let i = 0; i < 10; i += 1) {
      const r = await api("PUT", `/v1/subjects/${encodeURIComponent(newSubject("rates"))}/consents`, KEYS.ingest,
        { decisions: [{ purpose: "analytics", decision: "granted" }] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const stats = await api("GET", "/v1/stats/consent?bucket=day");
    assert.equal(stats.status, 200, JSON.stringify(stats.body));
    const analytics = stats.body.purposes.find((p) => p.purpose === "analytics");
    const today = analytics.buckets[analytics.buckets.length - 1];
    assert.ok(typeof today.granted === "number" && today.granted >= 10, JSON.stringify(today));

    const { page } = b;
    await signIn(page);
    await page.locator("#consent-rates figure.chart").first().waitFor();
    await page.locator("#consent-purpose").selectOption("analytics");
    const chart = page.locator("#consent-chart[data-purpose=analytics] svg[role=img]");
    await chart.waitFor();
    const label = await chart.getAttribute("aria-label");
    assert.match(label, new RegExp(`granted: .*${today.start} ${today.granted}`));
    assert.ok(await chart.locator("rect").count() >= analytics.buckets.length, "a column per day and decision");
    // The numbers are there as a table too, newest first, phrases where suppressed.
    await page.locator("#consent-rates summary").click();
    const first = await page.locator("#consent-rates details tbody tr:first-child td").allInnerTexts();
    assert.deepEqual(first, [today.start, String(today.granted), String(today.denied), String(today.withdrawn)]);
    const cells = await page.locator("#consent-rates details tbody td:not(:first-child)").allInnerTexts();
    for (const c of cells) assert.ok(/^fewer than 10$|^withheld$/.test(c) || Number(c) >= 10, c);
    // And per week.
    await page.getByLabel("Count per").selectOption("week");
    await page.locator("#consent-rates figure.chart figcaption", { hasText: "per week" }).waitFor();
    await page.getByLabel("Count per").selectOption("day");
    await page.locator("#consent-rates figure.chart figcaption", { hasText: "per day" }).waitFor();
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await screenshotOf(page.locator("#consent-rates"), "console-consent-rates.png");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});

test("console: an experiment's report, suppressed below k; the person sees the test they are in", async () => {
  const b = await open();
  try {
    const id = freshId("exp");
    const created = await api("POST", "/v1/experiments", KEYS.admin, {
      id, name: "Home length", purpose: "personalization", target: { kind: "slot", id },
      variants: [{ name: "A", allocation_bp: 5000 }, { name: "B", allocation_bp: 5000, settings: { n_items: 4 } }],
      start_ms: Date.now() - 1000,
      primary: { name: "orders", kind: "conversion", event_type: "Order Completed", window_ms: 1000 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const subject = newSubject("tested");
    const granted = await api("PUT", `/v1/subjects/${subject}/consents`, KEYS.ingest,
      { decisions: [{ purpose: "personalization", decision: "granted" }] });
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    const list = await api("GET", `/v1/subjects/${subject}/recommendations?slot=${id}`, KEYS.decide);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const arm = list.body.experiment.arm;

    const { page } = b;
    await signIn(page);
    await page.locator(`button[data-experiment="${id}"]`).click();
    await page.locator(`#experiment-report[data-experiment="${id}"][data-state=done]`).waitFor();
    const text = await page.locator("#experiment-report").innerText();
    assert.match(text, /Home length/);
    assert.match(text, /fewer than 10/);
    assert.match(text, /Sample ratio: suppressed/);
    await screenshotOf(page.locator("#experiments"), "console-experiments.png");
    assert.deepEqual(b.errors, []);

    await openPrivacyAs(page, subject);
    const mine = page.locator(`#tests-list li[data-experiment="${id}"]`);
    await mine.waitFor();
    assert.equal(await mine.getAttribute("data-arm"), arm);
    assert.match(await mine.innerText(), new RegExp(`Home length.*variant ${arm}`));
  } finally {
    await b.close();
  }
});

test("console: a private report draws each number with its 95 % interval, and a repeat spends nothing", async () => {
  const b = await open();
  try {
    const { page } = b;
    await signIn(page);
    // The real server first: the release states its basis and what it spent.
    await page.locator("#analytics-family").selectOption("consent-rates");
    await page.getByRole("button", { name: "Release report" }).click();
    await page.locator("#analytics .body p", { hasText: "left" }).waitFor();
    const first = await page.locator("#analytics .body").innerText();
    assert.match(first, /consent ledger/);
    assert.match(first, /Spent ε = 1 per day covered/);
    await page.getByRole("button", { name: "Release report" }).click();
    await page.locator("#analytics .body p", { hasText: "nothing spent now" }).waitFor();

    // The drawing, on a fixed answer of the server's shape.
    const released = (value, low, high) => ({ value, ci95_low: low, ci95_high: high, noise_std_dev: 2.8, noise: { mechanism: "discrete_laplace", scale: { num: 2, den: 1 } } });
    await page.route("**/v1/analytics/**", (route) => route.fulfill({
      status: 200, contentType: "application/json", body: JSON.stringify({
        repeated: false,
        budget: { per_day: { epsilon: 3, delta: 1e-6 }, remaining: { epsilon: 2, delta: 9e-7 } },
        report: {
          family: "conversions", by: "week", from: "2026-11-16", to: "2026-11-22", country: null,
          consent_basis: "Orders and product views whose purposes include `analytics`.", unit: "people",
          released_at: "2026-11-23T10:00:00.000Z", charged_per_day: { epsilon: 1, delta: 1e-8 }, selection_threshold: 37,
          noise: [],
          periods: [{ start: "2026-11-16", cells: [
            { cell: "slot:home", people: released(1200, 1191, 1209), events: released(1500, 1482, 1518), revenue_minor: released(90000, 88000, 92000) },
            { cell: "campaign:spring", people: released(300, 291, 309) },
          ] }],
        },
      }),
    }));
    await page.locator("#analytics-family").selectOption("conversions");
    await page.getByRole("button", { name: "Release report" }).click();
    const chart = page.locator("#analytics-chart svg[role=img]");
    await chart.waitFor();
    assert.match(await chart.getAttribute("aria-label"), /slot:home 1200 \(95 % interval 1191 to 1209\)/);
    assert.equal(await page.locator("#analytics-chart g.interval").count(), 2, "one whisker per number");
    const contrast = await lowestContrast(page);
    assert.ok(contrast.ratio >= AA_TEXT_CONTRAST_MIN, JSON.stringify(contrast));
    await page.evaluate(() => document.getElementById("analytics").scrollIntoView());
    await screenshot(page, "console-analytics.png");
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
});
