// The settings a profile can hold. Each key is the name of the flag it supplies a default for, so a
// profile value reaches every command that has that flag (cluster flags on every cluster command,
// the push flags on `dataset push`).
import {CliError, ExitCode} from '../output/errors.js'
import {parseRate} from '../output/rate.js'

export interface SettingKey {
  name: string
  /** Environment variables that set it, strongest first. */
  env: string[]
  description: string
  /** Allowed values (else any non-empty string). */
  options?: string[]
  integer?: {min: number; max: number}
  /** A further check of a string value: the problem, or undefined when it fits. */
  check?: (raw: string) => string | undefined
}

export const SETTING_KEYS: readonly SettingKey[] = [
  {name: 'kubeconfig', env: ['TRACEBLOC_KUBECONFIG', 'KUBECONFIG'], description: 'kubeconfig file'},
  {name: 'context', env: ['TRACEBLOC_CONTEXT'], description: 'kubeconfig context'},
  {name: 'namespace', env: ['TRACEBLOC_NAMESPACE'], description: 'namespace of the tracebloc client'},
  {name: 'stage-image', env: ['TRACEBLOC_STAGE_IMAGE'], description: 'image of the stage pod (dataset push)'},
  {name: 'parallel', env: ['TRACEBLOC_PARALLEL'], description: 'parallel copy streams (dataset push)', integer: {min: 1, max: 16}},
  {name: 'compress', env: ['TRACEBLOC_COMPRESS'], description: 'gzip copy streams (dataset push)', options: ['auto', 'on', 'off']},
  {name: 'bwlimit', env: ['TRACEBLOC_BWLIMIT'], description: 'bandwidth cap of a push, e.g. 8MiB or 50Mbit (dataset push)', check: (raw) => parseRate(raw).problem},
  {name: 'intent', env: ['TRACEBLOC_INTENT'], description: 'dataset intent (dataset push)', options: ['train', 'test']},
  {name: 'expect-cluster', env: ['TRACEBLOC_EXPECT_CLUSTER'], description: 'the cluster a push must land on, when a command checks it'},
]

export const KEY_NAMES = SETTING_KEYS.map((k) => k.name)

export function settingKey(name: string): SettingKey {
  const key = SETTING_KEYS.find((k) => k.name === name)
  if (!key) {
    throw new CliError(`unknown setting "${name}"`, {exitCode: ExitCode.BAD_INPUT, reason: 'unknown_setting', hint: `settings: ${KEY_NAMES.join(', ')}`})
  }
  return key
}

export type SettingValue = string | number

/** The value in its flag's type, or a reason it does not fit (undefined when it fits). */
export function checkValue(key: SettingKey, raw: unknown): {value?: SettingValue; problem?: string} {
  if (key.integer) {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
    if (!Number.isInteger(n) || n < key.integer.min || n > key.integer.max) {
      return {problem: `${key.name} must be a whole number from ${key.integer.min} to ${key.integer.max}, got ${JSON.stringify(raw)}`}
    }
    return {value: n}
  }
  if (typeof raw !== 'string' || raw.trim() === '') return {problem: `${key.name} must be a non-empty string, got ${JSON.stringify(raw)}`}
  if (key.options && !key.options.includes(raw)) return {problem: `${key.name} must be one of ${key.options.join(', ')}, got ${JSON.stringify(raw)}`}
  const problem = key.check?.(raw)
  if (problem !== undefined) return {problem: `${key.name}: ${problem}`}
  return {value: raw}
}
