// The vendored ingest schema (schema/ingest.v1.json) and its recorded sha256. The copy is taken
// from data-ingestors (di develop 2026-07-14, the version the official Go CLI embeds). When the
// cluster's ingestor moves, re-vendor the file and update the hash here; `npm run schema:check`
// (also run by the test suite and by the build) fails while the two disagree.
export const SCHEMA_VERSION = 'v1'
export const SCHEMA_ID = 'https://tracebloc.io/schemas/ingest.v1.json'
export const SCHEMA_FILE = 'schema/ingest.v1.json'
export const SCHEMA_SHA256 = 'ba02b18b25509c5691508120af16dd2cf073115e7afbfe5550a9da4ee73ca842'
