// Writes JSON lines `{ "tc": "...", "expected": { ... } }` for the Candor TCF oracle test.
//
// Every case is a random TC model encoded with the reference TCF encoder
// (`TCString.encode`). The expected values are the model we built, and before a case is
// written the reference decoder must read the same values back, so a disagreement in the
// Rust test points at Candor's decoder rather than at this script.
//
// Deterministic: a fixed seed drives a small PRNG, so the same command always writes the
// same file. No network: the vendor list is built in memory.

import { writeFileSync } from 'node:fs';
import { GVL, PurposeRestriction, TCModel, TCString } from '@iabtechlabtcf/core';

const SEED = 0xc4d0_2026;
const VENDOR_ID_MAX = 2500;
const LANGUAGES = ['EN', 'FR', 'DE', 'IT', 'ES', 'NL', 'PL', 'SV', 'FI', 'DA', 'BG', 'CS'];
const COUNTRIES = ['AA', 'FR', 'DE', 'US', 'GB', 'ZZ', 'IE', 'PT'];

// mulberry32: tiny, well-known, and good enough to spread test inputs.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1)); // inclusive
const chance = (p) => random() < p;
const pick = (xs) => xs[int(0, xs.length - 1)];

// A set of ids in 1..=len where each id is present with probability p.
function flags(len, p) {
  const ids = [];
  for (let id = 1; id <= len; id++) {
    if (chance(p)) ids.push(id);
  }
  return ids;
}

// Vendor id sets shaped so that the encoder picks both of its encodings: dense sets
// come out as bitfields, sparse or clustered ones as ranges.
function vendorIds() {
  switch (int(0, 4)) {
    case 0:
      return [];
    case 1: {
      // Dense, small ids: bitfield.
      const max = int(1, 400);
      return flags(max, 0.5);
    }
    case 2: {
      // A few ids spread over a wide space: ranges are shorter.
      const n = int(1, 12);
      const ids = new Set();
      for (let i = 0; i < n; i++) ids.add(int(1, VENDOR_ID_MAX));
      return [...ids].sort((a, b) => a - b);
    }
    case 3: {
      // Long contiguous runs with gaps: ranges.
      const ids = [];
      let id = int(1, 50);
      while (id <= VENDOR_ID_MAX && ids.length < 1500) {
        const run = int(1, 120);
        for (let j = 0; j < run && id <= VENDOR_ID_MAX; j++, id++) ids.push(id);
        id += int(1, 200);
        if (chance(0.2)) break;
      }
      return ids;
    }
    default: {
      // Everything up to some max: a single range.
      const max = int(1, VENDOR_ID_MAX);
      const ids = [];
      for (let id = 1; id <= max; id++) ids.push(id);
      return ids;
    }
  }
}

// A vendor list in which every vendor id up to `maxId` exists and declares purposes
// 1..11 for consent and 2..11 for legitimate interest (flexible), so the encoder's
// clean-up pass keeps every signal we set and accepts every restriction we make.
function vendorList(maxId, policyVersion, vendorListVersion) {
  const purposes = {};
  for (let id = 1; id <= 11; id++) purposes[id] = { id, name: `p${id}`, description: '' };
  const specialFeatures = {};
  for (let id = 1; id <= 2; id++) specialFeatures[id] = { id, name: `sf${id}`, description: '' };
  const vendors = {};
  const consent = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const legInt = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  for (let id = 1; id <= maxId; id++) {
    vendors[id] = {
      id,
      name: `v${id}`,
      purposes: consent,
      legIntPurposes: legInt,
      flexiblePurposes: legInt,
      specialPurposes: [],
      features: [],
      specialFeatures: [],
    };
  }
  return {
    gvlSpecificationVersion: 3,
    vendorListVersion,
    tcfPolicyVersion: policyVersion,
    lastUpdated: '2026-01-01T00:00:00Z',
    purposes,
    specialPurposes: {},
    features: {},
    specialFeatures,
    stacks: {},
    dataCategories: {},
    vendors,
  };
}

function setAll(vector, ids) {
  for (const id of ids) vector.set(id);
}

function vectorIds(vector) {
  const ids = [];
  vector.forEach((value, id) => {
    if (value) ids.push(id);
  });
  return ids;
}

function restrictionsOf(prVector) {
  return prVector
    .getRestrictions()
    .map((r) => ({
      purposeId: r.purposeId,
      restrictionType: r.restrictionType,
      vendors: prVector.getVendors(r),
    }))
    .sort((a, b) => a.purposeId - b.purposeId || a.restrictionType - b.restrictionType);
}

function makeCase() {
  const policyVersion = pick([4, 4, 5, 5, 5, int(6, 63)]);
  const vendorListVersion = int(1, 4095);
  const language = pick(LANGUAGES);

  const consents = vendorIds();
  const legInts = vendorIds();
  const disclosed = vendorIds();
  const allowed = vendorIds();

  // Restrictions: "not allowed" is valid for purposes 1..11, the two legal-basis
  // overrides only for flexible purposes 2..11 (see vendorList).
  const restrictions = [];
  const nRestrictions = pick([0, 0, 1, 2, int(3, 8)]);
  const seen = new Set();
  for (let i = 0; i < nRestrictions; i++) {
    const restrictionType = int(0, 2);
    const purposeId = restrictionType === 0 ? int(1, 11) : int(2, 11);
    const key = `${purposeId}-${restrictionType}`;
    if (seen.has(key)) continue;
    const vendors = vendorIds();
    if (vendors.length === 0) continue;
    seen.add(key);
    restrictions.push({ purposeId, restrictionType, vendors });
  }

  const maxUsed = Math.max(
    1,
    ...consents,
    ...legInts,
    ...restrictions.flatMap((r) => r.vendors),
  );
  const gvl = new GVL(vendorList(maxUsed, policyVersion, vendorListVersion), { language });

  const tcModel = new TCModel(gvl);
  // Deciseconds are the wire unit, so draw whole deciseconds.
  const created = int(15_778_368_000, 18_934_560_000) * 100; // 2020-01-01 .. 2030-01-01
  const lastUpdated = created + int(0, 315_360_000) * 100;
  tcModel.created = new Date(created);
  tcModel.lastUpdated = new Date(lastUpdated);
  tcModel.cmpId = int(2, 4095);
  tcModel.cmpVersion = int(0, 4095);
  tcModel.consentScreen = int(0, 63);
  tcModel.isServiceSpecific = chance(0.5);
  tcModel.useNonStandardTexts = chance(0.3);
  tcModel.purposeOneTreatment = chance(0.3);
  tcModel.publisherCountryCode = pick(COUNTRIES);

  const specialFeatures = flags(12, 0.4);
  const purposeConsents = flags(24, 0.5);
  // The encoder never sets legitimate interest for purposes 1 and 3..6 (TCF 2.2 policy).
  const purposeLegInts = flags(24, 0.5).filter((id) => ![1, 3, 4, 5, 6].includes(id));
  setAll(tcModel.specialFeatureOptins, specialFeatures);
  setAll(tcModel.purposeConsents, purposeConsents);
  setAll(tcModel.purposeLegitimateInterests, purposeLegInts);
  setAll(tcModel.vendorConsents, consents);
  setAll(tcModel.vendorLegitimateInterests, legInts);
  setAll(tcModel.vendorsDisclosed, disclosed);
  setAll(tcModel.vendorsAllowed, allowed);
  for (const r of restrictions) {
    const pr = new PurposeRestriction(r.purposeId, r.restrictionType);
    for (const v of r.vendors) tcModel.publisherRestrictions.add(v, pr);
  }

  const numCustomPurposes = pick([0, 0, int(1, 8), int(1, 63)]);
  const publisherConsents = flags(24, 0.5);
  const publisherLegInts = flags(24, 0.5);
  const customConsents = flags(numCustomPurposes, 0.5);
  const customLegInts = flags(numCustomPurposes, 0.5);
  tcModel.numCustomPurposes = numCustomPurposes;
  setAll(tcModel.publisherConsents, publisherConsents);
  setAll(tcModel.publisherLegitimateInterests, publisherLegInts);
  setAll(tcModel.publisherCustomConsents, customConsents);
  setAll(tcModel.publisherCustomLegitimateInterests, customLegInts);

  // Which optional segments follow the core one, in a random order.
  const optional = [];
  if (chance(0.5)) optional.push('vendorsDisclosed');
  if (chance(0.3)) optional.push('vendorsAllowed');
  if (chance(0.5)) optional.push('publisherTC');
  for (let i = optional.length - 1; i > 0; i--) {
    const j = int(0, i);
    [optional[i], optional[j]] = [optional[j], optional[i]];
  }
  const segments = ['core', ...optional];

  const tc = TCString.encode(tcModel, { segments });

  const expected = {
    version: 2,
    created,
    lastUpdated,
    cmpId: tcModel.cmpId,
    cmpVersion: tcModel.cmpVersion,
    consentScreen: tcModel.consentScreen,
    consentLanguage: language,
    vendorListVersion,
    tcfPolicyVersion: policyVersion,
    isServiceSpecific: tcModel.isServiceSpecific,
    useNonStandardTexts: tcModel.useNonStandardTexts,
    specialFeatureOptins: specialFeatures,
    purposeConsents,
    purposeLegitimateInterests: purposeLegInts,
    purposeOneTreatment: tcModel.purposeOneTreatment,
    publisherCountryCode: tcModel.publisherCountryCode,
    vendorConsents: consents,
    vendorLegitimateInterests: legInts,
    publisherRestrictions: restrictions
      .map((r) => ({ ...r, vendors: [...r.vendors].sort((a, b) => a - b) }))
      .sort((a, b) => a.purposeId - b.purposeId || a.restrictionType - b.restrictionType),
    vendorsDisclosed: optional.includes('vendorsDisclosed') ? disclosed : null,
    vendorsAllowed: optional.includes('vendorsAllowed') ? allowed : null,
    publisherTC: optional.includes('publisherTC')
      ? {
          publisherConsents,
          publisherLegitimateInterests: publisherLegInts,
          numCustomPurposes,
          publisherCustomConsents: customConsents,
          publisherCustomLegitimateInterests: customLegInts,
        }
      : null,
  };

  checkWithReferenceDecoder(tc, expected, optional);
  // Each GVL caches itself by version; drop them so memory stays flat over many cases.
  GVL.emptyCache();
  return { tc, expected };
}

// Guards the oracle itself: if the reference decoder disagrees with what we meant to
// encode, the encoder changed something behind our back and the case is unusable.
function checkWithReferenceDecoder(tc, expected, optional) {
  const m = TCString.decode(tc);
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const checks = {
    created: m.created.getTime() === expected.created,
    lastUpdated: m.lastUpdated.getTime() === expected.lastUpdated,
    cmpId: m.cmpId === expected.cmpId,
    cmpVersion: m.cmpVersion === expected.cmpVersion,
    consentScreen: m.consentScreen === expected.consentScreen,
    consentLanguage: m.consentLanguage === expected.consentLanguage,
    vendorListVersion: m.vendorListVersion === expected.vendorListVersion,
    tcfPolicyVersion: m.policyVersion === expected.tcfPolicyVersion,
    isServiceSpecific: m.isServiceSpecific === expected.isServiceSpecific,
    useNonStandardTexts: m.useNonStandardTexts === expected.useNonStandardTexts,
    purposeOneTreatment: m.purposeOneTreatment === expected.purposeOneTreatment,
    publisherCountryCode: m.publisherCountryCode === expected.publisherCountryCode,
    specialFeatureOptins: same(vectorIds(m.specialFeatureOptins), expected.specialFeatureOptins),
    purposeConsents: same(vectorIds(m.purposeConsents), expected.purposeConsents),
    purposeLegitimateInterests: same(
      vectorIds(m.purposeLegitimateInterests),
      expected.purposeLegitimateInterests,
    ),
    vendorConsents: same(vectorIds(m.vendorConsents), expected.vendorConsents),
    vendorLegitimateInterests: same(
      vectorIds(m.vendorLegitimateInterests),
      expected.vendorLegitimateInterests,
    ),
    publisherRestrictions: same(
      restrictionsOf(m.publisherRestrictions),
      expected.publisherRestrictions,
    ),
  };
  if (optional.includes('vendorsDisclosed')) {
    checks.vendorsDisclosed = same(vectorIds(m.vendorsDisclosed), expected.vendorsDisclosed);
  }
  if (optional.includes('vendorsAllowed')) {
    checks.vendorsAllowed = same(vectorIds(m.vendorsAllowed), expected.vendorsAllowed);
  }
  if (optional.includes('publisherTC')) {
    const p = expected.publisherTC;
    checks.publisherConsents = same(vectorIds(m.publisherConsents), p.publisherConsents);
    checks.publisherLegitimateInterests = same(
      vectorIds(m.publisherLegitimateInterests),
      p.publisherLegitimateInterests,
    );
    checks.numCustomPurposes = m.numCustomPurposes === p.numCustomPurposes;
    checks.publisherCustomConsents = same(
      vectorIds(m.publisherCustomConsents),
      p.publisherCustomConsents,
    );
    checks.publisherCustomLegitimateInterests = same(
      vectorIds(m.publisherCustomLegitimateInterests),
      p.publisherCustomLegitimateInterests,
    );
  }
  const failed = Object.entries(checks)
    .filter(([, ok]) => !ok)
    .map(([field]) => field);
  if (failed.length > 0) {
    throw new Error(`reference decoder disagrees on ${failed.join(', ')} for ${tc}`);
  }
}

const [out, countArg] = process.argv.slice(2);
if (!out) {
  console.error('usage: node generate.mjs OUTPUT_PATH [CASE_COUNT]');
  process.exit(2);
}
const count = Number.parseInt(countArg ?? '500', 10);
const lines = [];
for (let i = 0; i < count; i++) {
  lines.push(JSON.stringify(makeCase()));
}
writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${count} TC string cases to ${out}`);
