import {BaseCommand} from '../lib/command/base.js'
import {SCHEMA_ID, SCHEMA_SHA256, SCHEMA_VERSION} from '../lib/schema/version.js'

export interface VersionResult {
  version: string
  schema: {version: string; id: string; sha256: string}
  node: string
  platform: string
}

export default class Version extends BaseCommand<typeof Version> {
  static summary = 'Show the CLI version, the ingest schema it validates against, Node and platform'

  async run(): Promise<VersionResult> {
    const result: VersionResult = {
      version: this.config.version,
      schema: {version: SCHEMA_VERSION, id: SCHEMA_ID, sha256: SCHEMA_SHA256},
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    }
    this.out(`tracebloc ${result.version}`)
    this.out(`ingest schema ${SCHEMA_VERSION} (sha256 ${SCHEMA_SHA256})`)
    this.out(`node ${result.node} on ${result.platform}`)
    return result
  }
}
