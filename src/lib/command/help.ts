// The help class (package.json oclif.helpClass): oclif's, except that help for something that is
// not a command or topic (`tracebloc help dataset psh`, `tracebloc xyz -h`) is the same
// "unknown command … did you mean" error, exit 1, as running it.
import {Help} from '@oclif/core'

import {reportUnknownCommand} from './not-found.js'

export default class TraceblocHelp extends Help {
  public override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (error) {
      const m = /^Command (.+) not found\.$/.exec((error as Error).message ?? '')
      if (!m) throw error
      reportUnknownCommand(this.config, m[1], argv)
    }
  }
}
