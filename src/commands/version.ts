import {BaseCommand} from '../lib/command/base.js'
import {versionInfo, versionLines, type VersionResult} from '../lib/version-info.js'

// NOTE: bin/run.js answers plain `version` through src/lib/fast/entry.ts without loading oclif.
export default class Version extends BaseCommand<typeof Version> {
  static summary = 'Show the CLI version, the ingest schema it validates against, Node and platform'
  static description = '`<%= config.bin %> --version` prints the same.'
  static examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  async run(): Promise<VersionResult> {
    const result = versionInfo(this.config.version)
    for (const line of versionLines(result)) this.out(line)
    return result
  }
}
