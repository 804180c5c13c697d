// @ts-check
// Candor's own calls in check.mjs, through its generated TypeScript client
// (clients/typescript): paths, parameters, bodies and answers are type-checked by run.sh.
import { createCandorClient } from "../../clients/typescript/index.mjs";

/**
 * @param {string} url
 * @param {string} ingestKey a server key that may record consent
 * @param {string} adminKey a server key that may read subjects' data back
 */
export function candor(url, ingestKey, adminKey) {
  const ingest = createCandorClient(url, ingestKey);
  const admin = createCandorClient(url, adminKey);
  return {
    /** Records that `subject` granted analytics. @param {string} subject */
    async grant(subject) {
      const { error } = await ingest.PUT("/v1/subjects/{id}/consents", {
        params: { path: { id: subject } },
        body: { decisions: [{ purpose: "analytics", decision: "granted" }] },
      });
      if (error) throw new Error(`granting consent for ${subject}: ${JSON.stringify(error)}`);
    },

    /** Whether `subject`'s analytics consent reads back as granted. @param {string} subject */
    async consented(subject) {
      const { data, error } = await admin.GET("/v1/subjects/{id}/consents", {
        params: { path: { id: subject } },
      });
      if (!data) throw new Error(`reading consents of ${subject}: ${JSON.stringify(error)}`);
      return data.purposes.some((p) => p.purpose === "analytics" && p.status === "granted");
    },

    /** `subject`'s stored analytics events as sorted [type, product id] pairs. @param {string} subject */
    async stored(subject) {
      const { data, error } = await admin.GET("/v1/subjects/{id}/events", {
        params: { path: { id: subject }, query: { limit: 100, purpose: "analytics" } },
      });
      if (!data) throw new Error(`reading events of ${subject}: ${JSON.stringify(error)}`);
      return data.items
        // The document leaves event properties open: any JSON object.
        .map((e) => [e.event_type, /** @type {Record<string, unknown>} */ (e.properties).product_id ?? null])
        .sort((a, b) => (a.join() < b.join() ? -1 : 1));
    },
  };
}
