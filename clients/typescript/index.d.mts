import type { Client } from "openapi-fetch";
import type { paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

/**
 * A client for the Candor server at `baseUrl`, sending `key` (a server key, a visitor token or
 * a subject session token) on every request.
 */
export function createCandorClient(baseUrl: string, key: string): Client<paths>;
