// Where each setting comes from: flag > environment > profile > the Go CLI's active client
// (namespace only) > the flag's own default. Flags are applied by oclif (a profile value becomes the
// flag's default, see apply.ts); this module resolves the rest and says where each value came from.
import {readFileSync} from 'node:fs'

import {CliError, ExitCode} from '../output/errors.js'
import {checkProfileName, type ConfigDoc, DEFAULT_PROFILE, lineAt, lineOf, readConfig} from './file.js'
import {checkValue, SETTING_KEYS, type SettingValue} from './keys.js'
import {configFile, goCliConfigFile} from './paths.js'

export type Origin =
  | {source: 'env'; name: string}
  | {source: 'profile'; profile: string; file: string; line: number}
  | {source: 'go-cli'; file: string}

export interface Resolved {
  value: SettingValue
  origin: Origin
}

export interface Selection {
  profile: string
  /** How the profile was chosen. */
  by: 'flag' | 'env' | 'default'
}

export function selectProfile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Selection {
  const sel: Selection = flag ? {profile: flag, by: 'flag'} : env.TRACEBLOC_PROFILE ? {profile: env.TRACEBLOC_PROFILE, by: 'env'} : {profile: DEFAULT_PROFILE, by: 'default'}
  checkProfileName(sel.profile)
  return sel
}

/** The profile's values; a profile named on purpose (flag or env) must exist. */
export function profileValues(doc: ConfigDoc, sel: Selection): Record<string, SettingValue> {
  const values = doc.profiles[sel.profile]
  if (values) return values
  if (sel.by === 'default') return {}
  const known = Object.keys(doc.profiles)
  throw new CliError(`no profile "${sel.profile}" in ${doc.file}`, {
    exitCode: ExitCode.BAD_INPUT,
    reason: 'unknown_profile',
    hint: known.length > 0 ? `profiles: ${known.join(', ')}; create it with \`tracebloc config set <key> <value> --profile ${sel.profile}\`` : `create it with \`tracebloc config set <key> <value> --profile ${sel.profile}\``,
  })
}

function envValue(name: string, env: NodeJS.ProcessEnv): {name: string; raw: string} | undefined {
  const key = SETTING_KEYS.find((k) => k.name === name)!
  for (const e of key.env) {
    const raw = env[e]
    // KUBECONFIG may be a path list: the kube loader merges it, so the env var wins as a whole.
    if (raw !== undefined && raw !== '') return {name: e, raw}
  }
  return undefined
}

export interface ResolveOptions {
  profileFlag?: string
  env?: NodeJS.ProcessEnv
  /** Flags given on the command line: those settings are the flag's, not resolved here. */
  flagsGiven?: Set<string>
}

/** Every setting that has a value below the flag level, with its origin. */
export function resolveSettings(opts: ResolveOptions = {}): {selection: Selection; doc: ConfigDoc; settings: Map<string, Resolved>} {
  const env = opts.env ?? process.env
  const selection = selectProfile(opts.profileFlag, env)
  const doc = readConfig(configFile(env))
  const values = profileValues(doc, selection)
  const settings = new Map<string, Resolved>()
  for (const key of SETTING_KEYS) {
    const e = envValue(key.name, env)
    if (e) {
      const {value, problem} = checkValue(key, e.raw)
      if (problem !== undefined || value === undefined) throw new CliError(`${e.name}: ${problem}`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_env', hint: `fix or unset ${e.name}`})
      settings.set(key.name, {value, origin: {source: 'env', name: e.name}})
      continue
    }
    if (values[key.name] !== undefined) {
      settings.set(key.name, {value: values[key.name]!, origin: {source: 'profile', profile: selection.profile, file: doc.file, line: lineOf(doc.text, selection.profile, key.name)}})
    }
  }
  // The Go CLI's active client, so both CLIs target the same client; as there, only when neither a
  // namespace nor a context was chosen (a chosen context is never second-guessed).
  const given = opts.flagsGiven ?? new Set()
  if (!settings.has('namespace') && !settings.has('context') && !given.has('namespace') && !given.has('context')) {
    const ns = goCliNamespace(env)
    if (ns) settings.set('namespace', {value: ns.namespace, origin: {source: 'go-cli', file: ns.file}})
  }
  return {selection, doc, settings}
}

/** `profiles[current_env].active_client_namespace` of the Go CLI's config (nothing else is read from it). */
export function goCliNamespace(env: NodeJS.ProcessEnv = process.env): {namespace: string; file: string} | undefined {
  const file = goCliConfigFile(env)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    const pos = /position (\d+)/.exec((error as Error).message)
    const line = pos ? lineAt(text, Number(pos[1])) : lineAt(text, text.trimEnd().length)
    throw new CliError(`${file}:${line}: not valid JSON (the tracebloc Go CLI's config, read for its active client namespace)`, {
      exitCode: ExitCode.LOCAL_ENV,
      reason: 'bad_config',
      hint: 'repair it (or log in again with the Go CLI), or pass -n/--namespace',
    })
  }
  const d = doc as {current_env?: unknown; profiles?: Record<string, {active_client_namespace?: unknown}>}
  const envName = typeof d?.current_env === 'string' && d.current_env !== '' ? d.current_env : 'prod'
  const ns = d?.profiles?.[envName]?.active_client_namespace
  return typeof ns === 'string' && ns !== '' ? {namespace: ns, file} : undefined
}

export function describeOrigin(o: Origin | undefined): string {
  if (!o) return 'default'
  if (o.source === 'env') return `env ${o.name}`
  if (o.source === 'profile') return `profile ${o.profile} (${o.file}:${o.line})`
  return `Go CLI active client (${o.file})`
}
