import {Args} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {validateFiles, type ValidateResult} from '../../lib/schema/files.js'

export type {ValidatedFile, ValidateResult} from '../../lib/schema/files.js'

// NOTE: bin/run.js answers plain `ingest validate …` invocations through src/lib/fast/entry.ts
// without loading oclif (start-up time); both paths call validateFiles(), keep them in step.
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
    const {result, exitCode} = validateFiles(files, {out: (l) => this.out(l), note: (l) => this.note(l)})
    if (exitCode !== 0) process.exitCode = exitCode
    return result
  }
}
