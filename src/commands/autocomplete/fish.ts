import {BaseCommand} from '../../lib/command/base.js'
import {fishScript} from '../../lib/command/fish-completion.js'

export {fishScript} from '../../lib/command/fish-completion.js'

/**
 * @oclif/plugin-autocomplete covers bash, zsh and powershell; fish is generated here from the
 * command manifest (ids, summaries, flags) so it never falls out of date. Because this command's
 * id is `autocomplete:fish`, `tracebloc autocomplete fish` resolves here while
 * `tracebloc autocomplete bash|zsh|powershell` stays with the plugin.
 */
export default class AutocompleteFish extends BaseCommand<typeof AutocompleteFish> {
  static summary = 'Print the fish completion script'
  static description =
    'Install it with:\n  tracebloc autocomplete fish > ~/.config/fish/completions/tracebloc.fish\n' +
    'and, for the short name, link it as tb.fish (fish loads completions by command name):\n' +
    '  ln -sf tracebloc.fish ~/.config/fish/completions/tb.fish\n' +
    'bash, zsh and powershell: run `tracebloc autocomplete bash|zsh|powershell` for instructions.'

  static examples = ['<%= config.bin %> autocomplete fish > ~/.config/fish/completions/<%= config.bin %>.fish']
  static enableJsonFlag = false

  async run(): Promise<{script: string}> {
    const script = fishScript(this.config.bin, this.config.commands, this.config.topics, this.config.binAliases)
    process.stdout.write(script)
    if (process.stdout.isTTY) {
      process.stderr.write(`\n# To install: ${this.config.bin} autocomplete fish > ~/.config/fish/completions/${this.config.bin}.fish\n`)
    }
    return {script}
  }
}
