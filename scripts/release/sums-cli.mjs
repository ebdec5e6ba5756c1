// The command line shared by the scripts that turn a release's SHA256SUMS into a package-manager file
// (homebrew-formula.mjs, scoop-manifest.mjs): --sums FILE [--version V] [--base-url URL] [--out FILE].
// --version defaults to package.json's, --base-url to the GitHub release download dir for v<version>;
// without --out the text goes to stdout. A failure prints one line and exits 1.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseOptions} from './cli-args.mjs'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const REPO_URL = 'https://github.com/tracebloc/cli'

/** True when `moduleUrl` (import.meta.url) is the script node was started with. */
export const isMain = (moduleUrl) => Boolean(process.argv[1]) && path.resolve(process.argv[1]) === fileURLToPath(moduleUrl)

/** Parse the arguments, render with `render({sumsText, version, baseUrl, pjson, nodeVersion})`, write the text. */
export function runSumsCli(name, render) {
  const values = parseOptions(name, {sums: {type: 'string'}, version: {type: 'string'}, 'base-url': {type: 'string'}, out: {type: 'string'}}, `node scripts/release/${name}.mjs --sums SHA256SUMS [--version V] [--base-url URL] [--out FILE]`)
  try {
    if (!values.sums) throw new Error('--sums <SHA256SUMS file> is required')
    const pjson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
    const pins = JSON.parse(readFileSync(path.join(repoRoot, 'packaging/node-pins.json'), 'utf8'))
    const version = (values.version ?? pjson.version).replace(/^v/, '')
    const text = render({sumsText: readFileSync(values.sums, 'utf8'), version, baseUrl: values['base-url'] ?? `${REPO_URL}/releases/download/v${version}`, pjson, nodeVersion: pins.node})
    if (values.out) writeFileSync(values.out, text)
    else process.stdout.write(text)
  } catch (error) {
    console.error(`${name}: ${error.message}`)
    process.exit(1)
  }
}
