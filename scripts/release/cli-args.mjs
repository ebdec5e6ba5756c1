// Command-line options of the release scripts: a bad or missing option, or a missing value, is
// answered with one line naming it and the script's usage (exit 2), never a Node stack trace;
// --help prints the usage (exit 0).
import {parseArgs} from 'node:util'

/** parseArgs over process.argv for `name`, with `usage` the text after "usage: ". */
export function parseOptions(name, options, usage) {
  try {
    const {values} = parseArgs({options: {...options, help: {type: 'boolean', short: 'h'}}, allowPositionals: false})
    if (values.help) {
      console.log(`usage: ${usage}`)
      process.exit(0)
    }
    return values
  } catch (error) {
    console.error(`${name}: ${error.message.split('\n')[0]}`)
    console.error(`usage: ${usage}`)
    process.exit(2)
  }
}
