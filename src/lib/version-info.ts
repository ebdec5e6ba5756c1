// `tracebloc version` as data, shared by the oclif command and the fast start path.
import {SCHEMA_ID, SCHEMA_SHA256, SCHEMA_VERSION} from './schema/version.js'

export interface VersionResult {
  version: string
  schema: {version: string; id: string; sha256: string}
  node: string
  platform: string
}

export function versionInfo(cliVersion: string): VersionResult {
  return {
    version: cliVersion,
    schema: {version: SCHEMA_VERSION, id: SCHEMA_ID, sha256: SCHEMA_SHA256},
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  }
}

export function versionLines(v: VersionResult): string[] {
  return [`tracebloc ${v.version}`, `ingest schema ${v.schema.version} (sha256 ${v.schema.sha256})`, `node ${v.node} on ${v.platform}`]
}
