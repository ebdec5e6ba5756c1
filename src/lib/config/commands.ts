// What the `config` commands share: the --profile / --show-origin flags and the rows they print.
import {Flags} from '@oclif/core'

import {readConfig, writeConfig} from './file.js'
import {KEY_NAMES, type SettingValue} from './keys.js'
import {configFile} from './paths.js'
import {describeOrigin, type Origin, resolveSettings, type Selection, selectProfile} from './resolve.js'

export const profileFlag = Flags.string({description: 'Profile to read or change (default: $TRACEBLOC_PROFILE, then "default")'})
export const showOriginFlag = Flags.boolean({description: 'Say where each value comes from (environment, profile file and line, Go CLI, default)'})

export interface SettingRow {
  key: string
  value: SettingValue | null
  origin: string
  origin_detail?: Origin
}

export function settingRows(profile: string | undefined, keys: readonly string[] = KEY_NAMES): {selection: Selection; file: string; rows: SettingRow[]} {
  const {selection, doc, settings} = resolveSettings({profileFlag: profile})
  const rows = keys.map((key) => {
    const s = settings.get(key)
    return {key, value: s?.value ?? null, origin: describeOrigin(s?.origin), ...(s ? {origin_detail: s.origin} : {})}
  })
  return {selection, file: doc.file, rows}
}

/** Change one value of one profile (undefined removes it); returns the profile and file. */
export function changeSetting(profile: string | undefined, key: string, value: SettingValue | undefined): {profile: string; file: string; previous: SettingValue | null} {
  const sel = selectProfile(profile)
  const file = configFile()
  const doc = readConfig(file)
  const values = {...doc.profiles[sel.profile]}
  const previous = values[key] ?? null
  if (value === undefined) delete values[key]
  else values[key] = value
  writeConfig(file, {...doc.profiles, [sel.profile]: values})
  return {profile: sel.profile, file, previous}
}

export function formatRow(r: SettingRow, showOrigin: boolean): string {
  const v = r.value === null ? '(not set)' : String(r.value)
  return showOrigin ? `${r.key}=${v}\t${r.origin}` : `${r.key}=${v}`
}
