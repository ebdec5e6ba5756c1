// `ingest validate` as a function of its inputs, shared by the oclif command and the fast
// start path (src/lib/fast/entry.ts), so both print and exit exactly alike.
import {readFileSync} from 'node:fs'

import {ExitCode, isCliError} from '../output/errors.js'
import {style} from '../output/style.js'
import {formatIssues, validateIngestConfig, type SchemaIssue} from './index.js'
import {loadIngestYaml} from './yaml.js'

export interface ValidatedFile {
  file: string
  valid: boolean
  errors: SchemaIssue[]
  warnings: string[]
}

export interface ValidateResult {
  files: ValidatedFile[]
}

export interface ValidateIO {
  /** stdout line (human mode only) */
  out(line: string): void
  /** stderr line (human mode only) */
  note(line: string): void
}

/** Validate each file (`-` = stdin). Exit code: 3 if any file is unreadable, else 2 if any is invalid, else 0. */
export function validateFiles(files: string[], io: ValidateIO): {result: ValidateResult; exitCode: number} {
  const results: ValidatedFile[] = []
  let exitCode: number = ExitCode.OK
  for (const file of files) {
    const {result, code} = checkFile(file, io)
    results.push(result)
    exitCode = Math.max(exitCode, code)
  }
  return {result: {files: results}, exitCode}
}

function checkFile(file: string, io: ValidateIO): {result: ValidatedFile; code: number} {
  const label = file === '-' ? '<stdin>' : file
  const fail = (keyword: string, message: string, code: number, hint?: string, warnings: string[] = []) => {
    io.note(style.red('Error: ') + message + (hint ? '\n  ' + style.dim('→ ') + hint : ''))
    return {result: {file: label, valid: false, errors: [{path: '<root>', message, keyword}], warnings}, code}
  }

  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message
    return fail('file', `cannot read ${label}: ${why}`, ExitCode.LOCAL_ENV, 'check the path to your ingest.yaml')
  }

  let value: unknown
  let warnings: string[]
  try {
    ;({value, warnings} = loadIngestYaml(text, label))
  } catch (error) {
    if (!isCliError(error)) throw error
    return fail('yaml', error.message, error.exitCode, error.hint)
  }
  for (const w of warnings) io.note(style.yellow('Warning: ') + w)

  if (value === null) {
    const hint = 'start from an example: https://docs.tracebloc.io/create-use-case/prepare-dataset'
    return fail('type', `${label} is empty; ingest.yaml must be a mapping at the top level (apiVersion / kind / category / ...).`, ExitCode.BAD_INPUT, hint, warnings)
  }
  const errors = validateIngestConfig(value)
  if (errors.length === 0) {
    io.out(`${label}: ok`)
    return {result: {file: label, valid: true, errors, warnings}, code: ExitCode.OK}
  }
  io.note(`${label}: ${formatIssues(errors)}`)
  return {result: {file: label, valid: false, errors, warnings}, code: ExitCode.BAD_INPUT}
}
