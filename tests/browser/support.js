// Shared set-up for the browser tests: a fresh Chromium profile per test, API calls that
// check what the server recorded (the truth the pages must agree with), and a stand-in for a
// shop's backend that logs people in by minting subject tokens.
//
// Server keys stay in this Node process, as they stay on a shop's backend: no test hands one
// to a page. Pages get the publishable key (from /shop/config.js) and tokens.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const BASE = need("CANDOR_URL");
export const KEYS = {
  admin: need("CANDOR_ADMIN_KEY"),
  ingest: need("CANDOR_INGEST_KEY"),
  decide: need("CANDOR_DECIDE_KEY"),
  sessions: need("CANDOR_SESSIONS_KEY"),
  publishable: need("CANDOR_PUBLISHABLE_KEY"),
};
const here = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = process.env.CANDOR_SCREENSHOTS || join(here, "..", "..", "docs", "screenshots");

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through tests/browser/run.sh`);
  return v;
}

// As the test plan asks: no sandbox (containers run as root), no GPU, and nothing the
// browser would fetch on its own, so the only traffic is the page's.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** A browser with a fresh profile. `gpc` turns Global Privacy Control on, as a browser would. */
export async function open({ gpc = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "candor-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    extraHTTPHeaders: gpc ? { "Sec-GPC": "1" } : {},
  });
  if (gpc) {
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true, configurable: true });
    });
  }
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A person no other test uses. */
export function newSubject(label) {
  counter += 1;
  return `browser-${label}-${process.pid}-${Date.now()}-${counter}`;
}

export async function api(method, path, key = KEYS.admin, body) {
  const res = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * What a shop's backend does when a person logs in: asks Candor, with its sessions-scoped
 * server key, for a subject token for that one person. Resolves with the token.
 */
export async function subjectToken(subject, options = {}) {
  const r = await api("POST", "/v1/subject-tokens", KEYS.sessions, { subject, ...options });
  if (r.status !== 201) throw new Error(`subject token: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** The shop's login link: the backend's token for `subject`, in the fragment. */
export function shopLink(subject, token) {
  return `${BASE}/shop/#${new URLSearchParams({ subject, token })}`;
}

/** The privacy center's personal link, as the shop builds it. */
export function privacyLink(subject, token) {
  return `${BASE}/privacy/#${new URLSearchParams({ token, subject })}`;
}

/**
 * Opens the shop logged in as `subject` (minting a token unless one is given), from a blank
 * page, so a link that differs from the current address only by its fragment still loads.
 * Resolves with the token.
 */
export async function openShopAs(page, subject, token) {
  const t = token || (await subjectToken(subject));
  await page.goto("about:blank");
  await page.goto(shopLink(subject, t));
  return t;
}

/** Opens the shop as an anonymous visitor (no login), from a blank page. */
export async function openShopAnonymously(page) {
  await page.goto("about:blank");
  await page.goto(`${BASE}/shop/#anonymous`);
}

/** Opens the privacy center logged in as `subject` (minting a token unless one is given). */
export async function openPrivacyAs(page, subject, token) {
  const t = token || (await subjectToken(subject));
  await page.goto("about:blank");
  await page.goto(privacyLink(subject, t));
  return t;
}

/** The consent state the server holds: purpose id -> {allowed, status, reason_code}. */
export async function consents(subject) {
  const r = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/consents`);
  if (r.status !== 200) throw new Error(`consents: ${r.status} ${JSON.stringify(r.body)}`);
  return Object.fromEntries(r.body.purposes.map((p) => [p.purpose, p]));
}

export async function storedEvents(subject) {
  const r = await api("GET", `/v1/subjects/${encodeURIComponent(subject)}/events?limit=100`);
  if (r.status !== 200) throw new Error(`events: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items;
}

export async function screenshot(page, name, options = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), ...options });
}

/** A screenshot of one element, whole, however tall. */
export async function screenshotOf(locator, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await locator.screenshot({ path: join(SCREENSHOTS, name) });
}

/** Tabs through the page and returns the ids (or labels) of everything that took focus. */
export async function tabThrough(page, presses) {
  const seen = [];
  for (let i = 0; i < presses; i += 1) {
    await page.keyboard.press("Tab");
    const who = await page.evaluate(() => {
      let a = document.activeElement;
      while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
      if (!a || a === document.body) return null;
      const style = getComputedStyle(a);
      return {
        key: a.id || a.getAttribute("aria-label") || a.getAttribute("href") || a.textContent.trim(),
        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
      };
    });
    if (who) seen.push(who);
  }
  return seen;
}

/** Every enabled, visible control in the page (and open shadow roots). */
export async function controls(page, scopeSelector = "body") {
  return page.evaluate((sel) => {
    const out = [];
    const walk = (root) => {
      root.querySelectorAll("a[href], button, input, select, textarea").forEach((n) => {
        const r = n.getBoundingClientRect();
        if (!n.disabled && r.width > 0 && r.height > 0 && !n.closest("[hidden]")) {
          out.push(n.id || n.getAttribute("aria-label") || n.getAttribute("href") || n.textContent.trim());
        }
      });
      root.querySelectorAll("*").forEach((n) => n.shadowRoot && walk(n.shadowRoot));
    };
    walk(document.querySelector(sel));
    return out;
  }, scopeSelector);
}

/**
 * The lowest text contrast among visible text in the page, WCAG's formula, with each
 * element's background taken from the nearest ancestor that paints one.
 */
export async function lowestContrast(page) {
  return page.evaluate(() => {
    const parse = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bg = (n) => {
      for (let e = n; e; e = e.parentElement || (e.getRootNode() && e.getRootNode().host)) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    let worst = { ratio: 21, text: "" };
    const walk = (root) => {
      root.querySelectorAll("*").forEach((n) => {
        if (n.shadowRoot) walk(n.shadowRoot);
        const own = [...n.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
        const r = n.getBoundingClientRect();
        if (!own || r.width === 0 || n.closest("[hidden]") || n.closest(".sr-only")) return;
        const s = getComputedStyle(n);
        if (s.visibility === "hidden" || parseFloat(s.opacity) < 1) return;
        const a = lum(parse(s.color)), b = lum(bg(n));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < worst.ratio) worst = { ratio, text: n.textContent.trim().slice(0, 40) };
      });
    };
    walk(document);
    return worst;
  });
}
