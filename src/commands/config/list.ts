import {BaseCommand} from '../../lib/command/base.js'
import {formatRow, profileFlag, type SettingRow, settingRows, showOriginFlag} from '../../lib/config/commands.js'

export default class ConfigList extends BaseCommand<typeof ConfigList> {
  static summary = 'List the settings in effect for a profile'
  static description =
    'Every setting a profile can hold, with the value commands would use when no flag is given: the environment ' +
    '(TRACEBLOC_<KEY>, KUBECONFIG) wins over the profile, which wins over the flag default.'
  static examples = ['<%= config.bin %> config list', '<%= config.bin %> config list --profile prod --show-origin', '<%= config.bin %> config list --json']
  static flags = {profile: profileFlag, 'show-origin': showOriginFlag}

  async run(): Promise<{profile: string; file: string; settings: SettingRow[]}> {
    const {selection, file, rows} = settingRows(this.flags.profile)
    this.note(`profile ${selection.profile} (${file})`)
    for (const r of rows) this.out(formatRow(r, this.flags['show-origin']))
    return {profile: selection.profile, file, settings: rows}
  }
}
