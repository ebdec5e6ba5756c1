// The config file: JSON, one object of named profiles, each a set of flag defaults.
//   {"profiles": {"default": {"namespace": "tracebloc"}, "prod": {"context": "prod", "parallel": 4}}}
// A file that does not parse or holds a value its flag would reject is an error naming the file and
// line (exit 3), never ignored: a silently dropped namespace would send a push to the wrong cluster.
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {CliError, ExitCode} from '../output/errors.js'
import {checkValue, SETTING_KEYS, type SettingValue} from './keys.js'

export const DEFAULT_PROFILE = 'default'
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

export interface ConfigDoc {
  file: string
  /** The file's text ('' when there is no file yet), for line numbers. */
  text: string
  profiles: Record<string, Record<string, SettingValue>>
}

export function checkProfileName(name: string): void {
  if (!PROFILE_NAME.test(name)) {
    throw new CliError(`invalid profile name "${name}"`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_profile', hint: 'a profile name is letters, digits, ".", "_" or "-" (≤ 63 chars), starting with a letter or digit'})
  }
}

/** 1-based line of character offset `pos` in `text`. */
export function lineAt(text: string, pos: number): number {
  let line = 1
  for (let i = 0; i < Math.min(pos, text.length); i++) if (text.charCodeAt(i) === 10) line++
  return line
}

/** The line where `"key":` appears inside profile `profile` (best effort; the profile's line, else 1). */
export function lineOf(text: string, profile: string, key?: string): number {
  const p = text.search(new RegExp(`"${escapeRe(profile)}"\\s*:`))
  if (p < 0) return 1
  if (key === undefined) return lineAt(text, p)
  const rest = text.slice(p)
  const k = rest.search(new RegExp(`"${escapeRe(key)}"\\s*:`))
  return lineAt(text, k < 0 ? p : p + k)
}

function escapeRe(s: string): string {
  return s.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function bad(file: string, line: number, what: string): CliError {
  return new CliError(`${file}:${line}: ${what}`, {
    exitCode: ExitCode.LOCAL_ENV,
    reason: 'bad_config',
    hint: `fix or remove that line (\`tracebloc config set|unset\` rewrite the file), or point TRACEBLOC_CONFIG_HOME elsewhere`,
  })
}

export function readConfig(file: string): ConfigDoc {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return {file, text: '', profiles: {}}
    throw new CliError(`cannot read ${file}: ${code ?? (error as Error).message}`, {exitCode: ExitCode.LOCAL_ENV, reason: 'bad_config', hint: 'check the file permissions'})
  }
  return parseConfig(file, text)
}

export function parseConfig(file: string, text: string): ConfigDoc {
  if (text.trim() === '') return {file, text, profiles: {}}
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    const msg = (error as Error).message
    const pos = /position (\d+)/.exec(msg)
    const line = pos ? lineAt(text, Number(pos[1])) : lineAt(text, text.trimEnd().length)
    throw bad(file, line, `not valid JSON (${msg.replace(/ in JSON at position \d+.*$/, '').replace(/^Unexpected end of JSON input$/, 'the file ends early')})`)
  }
  if (!isObject(doc)) throw bad(file, 1, 'the file must hold a JSON object ({"profiles": {…}})')
  for (const top of Object.keys(doc)) {
    if (top !== 'profiles') throw bad(file, lineAt(text, text.indexOf(`"${top}"`)), `unknown top-level key "${top}" (only "profiles")`)
  }
  const raw = doc.profiles ?? {}
  if (!isObject(raw)) throw bad(file, lineAt(text, text.indexOf('"profiles"')), '"profiles" must be an object of named profiles')
  const profiles: ConfigDoc['profiles'] = {}
  for (const [name, values] of Object.entries(raw)) {
    if (!PROFILE_NAME.test(name)) throw bad(file, lineOf(text, name), `invalid profile name "${name}"`)
    if (!isObject(values)) throw bad(file, lineOf(text, name), `profile "${name}" must be an object of settings`)
    const out: Record<string, SettingValue> = {}
    for (const [k, v] of Object.entries(values)) {
      const key = SETTING_KEYS.find((s) => s.name === k)
      if (!key) throw bad(file, lineOf(text, name, k), `unknown setting "${k}" in profile "${name}" (settings: ${SETTING_KEYS.map((s) => s.name).join(', ')})`)
      const {value, problem} = checkValue(key, v)
      if (problem !== undefined || value === undefined) throw bad(file, lineOf(text, name, k), `profile "${name}": ${problem}`)
      out[k] = value
    }
    profiles[name] = out
  }
  return {file, text, profiles}
}

/** Write atomically (temp file + rename) so a crash never leaves half a file. */
export function writeConfig(file: string, profiles: ConfigDoc['profiles']): void {
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  const clean = Object.fromEntries(Object.entries(profiles).filter(([, v]) => Object.keys(v).length > 0))
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify({profiles: clean}, null, 2) + '\n', {mode: 0o600})
  renameSync(tmp, file)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
