// Candor's TypeScript client: openapi-fetch, typed by schema.d.ts (generated from the OpenAPI
// document by clients/generate.sh). Every path, parameter, body and answer is checked by the
// TypeScript compiler; see index.d.mts.
import createClient from "openapi-fetch";

/**
 * A client for the Candor server at `baseUrl`, sending `key` (a server key, a visitor token or
 * a subject session token) on every request.
 *
 * @param {string} baseUrl
 * @param {string} key
 */
export function createCandorClient(baseUrl, key) {
  return createClient({
    baseUrl: baseUrl.replace(/\/$/, ""),
    headers: { authorization: `Bearer ${key}` },
  });
}
