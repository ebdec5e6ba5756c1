import {readFileSync} from 'node:fs'

import {Args} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {ExitCode, isCliError} from '../../lib/output/errors.js'
import {style} from '../../lib/output/style.js'
import {formatIssues, loadIngestYaml, validateIngestConfig, type SchemaIssue} from '../../lib/schema/index.js'

export interface ValidatedFile {
  file: string
  valid: boolean
  errors: SchemaIssue[]
  warnings: string[]
}

export interface ValidateResult {
  files: ValidatedFile[]
}

export default class IngestValidate extends BaseCommand<typeof IngestValidate> {
  static summary = 'Check ingest.yaml files locally, exactly as the in-cluster ingestor would'
  static description =
    'Parses each file with YAML 1.1 rules (like the ingestor\'s PyYAML: unquoted yes/no/on/off are booleans, ' +
    '2024-01-01 is a date), validates it against the vendored ingest schema and the ingestor\'s runtime rules ' +
    '(table name, SQL types, reserved columns, in-pod paths, sidecar folder names), and reports every problem as ' +
    '`<dotted.path>: <message>`. Use - to read from stdin.\n\n' +
    'Exit codes: 0 all valid; 2 a file is invalid (schema, YAML syntax, empty, not a mapping); 3 a file cannot be read.'

  static examples = [
    '<%= config.bin %> ingest validate ingest.yaml',
    '<%= config.bin %> ingest validate configs/*.yaml --json',
    'cat ingest.yaml | <%= config.bin %> ingest validate -',
  ]

  static strict = false
  static args = {
    file: Args.string({description: 'ingest.yaml file(s) to check; - reads stdin', required: true}),
  }

  async run(): Promise<ValidateResult> {
    const {argv} = await this.parse(IngestValidate)
    const files = (argv as string[]).length > 0 ? (argv as string[]) : [this.args.file]
    const results: ValidatedFile[] = []
    let exit: number = ExitCode.OK
    for (const file of files) {
      const {result, code} = this.check(file)
      results.push(result)
      exit = Math.max(exit, code)
    }
    if (exit !== ExitCode.OK) process.exitCode = exit
    return {files: results}
  }

  private check(file: string): {result: ValidatedFile; code: number} {
    const label = file === '-' ? '<stdin>' : file
    const fail = (keyword: string, message: string, code: number, hint?: string, warnings: string[] = []) => {
      this.note(style.red('Error: ') + message + (hint ? '\n  ' + style.dim('→ ') + hint : ''))
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
    for (const w of warnings) this.warnLine(w)

    if (value === null) {
      const hint = 'start from an example: https://docs.tracebloc.io/create-use-case/prepare-dataset'
      return fail('type', `${label} is empty; ingest.yaml must be a mapping at the top level (apiVersion / kind / category / ...).`, ExitCode.BAD_INPUT, hint, warnings)
    }
    const errors = validateIngestConfig(value)
    if (errors.length === 0) {
      this.out(`${label}: ok`)
      return {result: {file: label, valid: true, errors, warnings}, code: ExitCode.OK}
    }
    this.note(`${label}: ${formatIssues(errors)}`)
    return {result: {file: label, valid: false, errors, warnings}, code: ExitCode.BAD_INPUT}
  }
}
