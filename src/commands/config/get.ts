import {Args} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {formatRow, profileFlag, type SettingRow, settingRows, showOriginFlag} from '../../lib/config/commands.js'
import {settingKey} from '../../lib/config/keys.js'

export default class ConfigGet extends BaseCommand<typeof ConfigGet> {
  static summary = 'Print the value of one setting'
  static description = 'Prints the value commands would use (environment, then profile); nothing and exit 0 when it is not set.'
  static examples = ['<%= config.bin %> config get namespace', '<%= config.bin %> config get context --profile prod --show-origin']
  static args = {key: Args.string({description: 'Setting name', required: true})}
  static flags = {profile: profileFlag, 'show-origin': showOriginFlag}

  async run(): Promise<{profile: string; file: string} & SettingRow> {
    const key = settingKey(this.args.key).name
    const {selection, file, rows} = settingRows(this.flags.profile, [key])
    const row = rows[0]!
    if (this.flags['show-origin']) this.out(formatRow(row, true))
    else if (row.value !== null) this.out(String(row.value))
    return {profile: selection.profile, file, ...row}
  }
}
