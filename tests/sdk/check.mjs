// Drives Segment's and RudderStack's Node libraries, in their default configuration, at a
// running Candor, then reads back what Candor stored through Candor's generated TypeScript
// client (candor.mjs, type-checked by run.sh).
//
// Environment: CANDOR_URL, CANDOR_INGEST_KEY (the libraries' write key), CANDOR_ADMIN_KEY (to
// read back). Exits non-zero, saying what differed, when a promise does not hold.

import { Analytics as Segment } from "@segment/analytics-node";
import Rudder from "@rudderstack/rudder-sdk-node";
import { candor } from "./candor.mjs";

const url = process.env.CANDOR_URL.replace(/\/$/, "");
const ingest = process.env.CANDOR_INGEST_KEY;
const admin = process.env.CANDOR_ADMIN_KEY;

// Candor's own calls (granting consent, reading back) go through its generated client.
const { grant, consented, stored } = candor(url, ingest, admin);

// The calls a shop's backend makes, through either library (their call shapes are the same).
async function drive(name, client, flush) {
  const [user, anon, none] = ["user", "anon", "none"].map((s) => `sdk-${name}-${s}`);
  await grant(user);
  await grant(anon);
  const properties = { product_id: "sku-1", category: "Running", price: 20.0 };
  client.track({ anonymousId: anon, event: "Product Viewed", properties });
  client.identify({ userId: user, anonymousId: anon, traits: { plan: "basic" } });
  client.track({ userId: user, event: "Product Added", properties: { product_id: "sku-2" } });
  client.page({ userId: user, name: "Home" });
  client.alias({ previousId: anon, userId: user });
  // No consent: dropped.
  client.track({ userId: none, event: "Product Viewed", properties });
  await flush();
  return { user, anon, none };
}

const errors = [];
const segment = new Segment({ writeKey: ingest, host: url });
segment.on("error", (e) => errors.push(e));
const rudder = new Rudder(ingest, { dataPlaneUrl: url, logLevel: "error" });
const libraries = {
  "segment-node": [segment, () => segment.closeAndFlush({ timeout: 30000 })],
  "rudder-node": [rudder, () => rudder.flush()],
};

let failed = false;
for (const [name, [client, flush]] of Object.entries(libraries)) {
  const { user, anon, none } = await drive(name, client, flush);
  const expected = {
    // The visitor's event moved to the person they identified as; the alias was refused (per
    // event) and changed nothing.
    [user]: [
      ["Page Viewed", null],
      ["Product Added", "sku-2"],
      ["Product Viewed", "sku-1"],
    ],
    [anon]: [],
    [none]: [],
  };
  for (const subject of [user, anon]) {
    if (!(await consented(subject))) {
      failed = true;
      console.error(`${name}: ${subject}'s analytics consent does not read back as granted`);
    }
  }
  for (const [subject, want] of Object.entries(expected)) {
    const got = await stored(subject);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      failed = true;
      console.error(`${name}: ${subject} has ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
  }
  if (errors.length) {
    failed = true;
    console.error(`${name}: the library reported`, errors.splice(0));
  }
  if (!failed) console.log(`ok ${name}`);
}
process.exit(failed ? 1 : 0);
