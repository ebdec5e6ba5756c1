// `ingest validate` as a function of its inputs, shared by the oclif command and the fast
// start path (src/lib/fast/entry.ts), so both print and exit exactly alike.
import {isUtf8} from 'node:buffer'
import {closeSync, openSync, readSync} from 'node:fs'

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

/** Larger inputs are refused before parsing: an ingest config is a few KiB. */
export const MAX_CONFIG_BYTES = 4 << 20

/** The file's bytes, or undefined when it is larger than MAX_CONFIG_BYTES (read no further than that). */
function readCapped(file: string | 0): Buffer | undefined {
  const fd = file === 0 ? 0 : openSync(file, 'r')
  try {
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 16)
      let n: number
      try {
        n = readSync(fd, buf, 0, buf.length, null)
      } catch (error) {
        // a non-blocking stdin with nothing yet: wait a little and read again
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
        continue
      }
      if (n === 0) break
      total += n
      if (total > MAX_CONFIG_BYTES) return undefined
      chunks.push(buf.subarray(0, n))
    }
    return Buffer.concat(chunks)
  } finally {
    if (fd !== 0) closeSync(fd)
  }
}

function checkFile(file: string, io: ValidateIO): {result: ValidatedFile; code: number} {
  const label = file === '-' ? '<stdin>' : file
  const fail = (keyword: string, message: string, code: number, hint?: string, warnings: string[] = []) => {
    io.note(style.red('Error: ') + message + (hint ? '\n  ' + style.dim('→ ') + hint : ''))
    return {result: {file: label, valid: false, errors: [{path: '<root>', message, keyword}], warnings}, code}
  }

  let text: string
  try {
    const bytes = readCapped(file === '-' ? 0 : file)
    if (bytes === undefined) {
      return fail('size', `${label} is larger than ${MAX_CONFIG_BYTES / (1 << 20)} MiB; an ingest config is a few KiB — is this the right file?`, ExitCode.BAD_INPUT, 'pass the ingest.yaml, not the dataset')
    }
    if (!isUtf8(bytes)) return fail('encoding', `${label} is not valid UTF-8 text; the ingestor reads ingest configs as UTF-8`, ExitCode.BAD_INPUT, 'save the file as UTF-8')
    text = bytes.toString('utf8')
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ELOOP' ? 'too many levels of symbolic links' : (e.code ?? e.message)
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
