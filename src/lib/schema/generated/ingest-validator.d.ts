// Types for the validator that scripts/gen-ingest-validator.mjs generates at build time
// (ingest-validator.js, gitignored). Committed so typecheck runs before the build.
export interface AjvErrorObject {
  instancePath: string
  schemaPath: string
  keyword: string
  params: Record<string, unknown>
}

export interface IngestValidateFunction {
  (data: unknown): boolean
  errors?: AjvErrorObject[] | null
}

export declare const validate: IngestValidateFunction
export default validate
/** sha256 of the schema file the validator was generated from. */
export declare const schemaSha256: string
/** The schema's structure (key order preserved, prose stripped). */
export declare const schemaTree: Record<string, unknown>
