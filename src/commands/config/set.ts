import {Args} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {changeSetting, profileFlag} from '../../lib/config/commands.js'
import {checkValue, settingKey, type SettingValue} from '../../lib/config/keys.js'
import {CliError, ExitCode} from '../../lib/output/errors.js'

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static summary = 'Set a setting in a profile (created when missing)'
  static description =
    'Settings: kubeconfig, context, namespace, stage-image, parallel, compress, intent, expect-cluster. Each is the default ' +
    'for the flag of the same name; a flag on the command line or the environment still wins.'
  static examples = [
    '<%= config.bin %> config set namespace tracebloc',
    '<%= config.bin %> config set context prod-cluster --profile prod',
    'TRACEBLOC_PROFILE=prod <%= config.bin %> dataset push ./data --table t',
  ]
  static args = {key: Args.string({description: 'Setting name', required: true}), value: Args.string({description: 'Value', required: true})}
  static flags = {profile: profileFlag}

  async run(): Promise<{profile: string; file: string; key: string; value: SettingValue; previous: SettingValue | null}> {
    const key = settingKey(this.args.key)
    const {value, problem} = checkValue(key, this.args.value)
    if (problem !== undefined || value === undefined) throw new CliError(problem ?? 'bad value', {exitCode: ExitCode.BAD_INPUT, reason: 'bad_value'})
    const r = changeSetting(this.flags.profile, key.name, value)
    this.note(`${key.name}=${value} in profile ${r.profile} (${r.file})`)
    return {profile: r.profile, file: r.file, key: key.name, value, previous: r.previous}
  }
}
