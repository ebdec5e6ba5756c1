import {Args} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {changeSetting, profileFlag} from '../../lib/config/commands.js'
import {settingKey, type SettingValue} from '../../lib/config/keys.js'

export default class ConfigUnset extends BaseCommand<typeof ConfigUnset> {
  static summary = 'Remove a setting from a profile'
  static examples = ['<%= config.bin %> config unset namespace', '<%= config.bin %> config unset parallel --profile prod']
  static args = {key: Args.string({description: 'Setting name', required: true})}
  static flags = {profile: profileFlag}

  async run(): Promise<{profile: string; file: string; key: string; previous: SettingValue | null}> {
    const key = settingKey(this.args.key).name
    const r = changeSetting(this.flags.profile, key, undefined)
    this.note(r.previous === null ? `${key} was not set in profile ${r.profile}` : `${key} removed from profile ${r.profile} (${r.file})`)
    return {profile: r.profile, file: r.file, key, previous: r.previous}
  }
}
