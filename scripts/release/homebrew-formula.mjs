// Writes the Homebrew formula for tracebloc/homebrew-tap (Formula/tracebloc.rb) from the release's
// SHA256SUMS: one bundled-Node oclif tarball per OS/arch, URL + sha256 each.
//
//   npm run pack:formula -- --sums tmp/release/SHA256SUMS [--version 0.1.0] [--base-url URL] [--out Formula/tracebloc.rb]
//
// --base-url defaults to the GitHub release download dir for v<version>; --version defaults to package.json's.
// Without --out the formula goes to stdout.
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {isMain, repoRoot, runSumsCli} from './sums-cli.mjs'

export const TEMPLATE = path.join(repoRoot, 'packaging/homebrew/tracebloc.rb.tmpl')
const BREW_TARGETS = ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64']

/** Parses sha256sum-format text into Map(name -> hex). */
export function parseSums(text) {
  const sums = new Map()
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line)
    if (!m) throw new Error(`not a SHA256SUMS line: ${line}`)
    sums.set(m[2], m[1])
  }
  return sums
}

export function renderFormula({sumsText, version, baseUrl, nodeVersion, template = readFileSync(TEMPLATE, 'utf8')}) {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`not a release version: ${version}`)
  const sums = parseSums(sumsText)
  const vars = {VERSION: version, NODE_VERSION: nodeVersion}
  for (const target of BREW_TARGETS) {
    const re = new RegExp(`^tracebloc-v${version.replaceAll('.', '\\.')}-[0-9a-f]+-${target}\\.tar\\.(gz|xz)$`)
    const names = [...sums.keys()].filter((n) => re.test(n))
    // Prefer .tar.xz (smaller) when the release has both.
    const name = names.find((n) => n.endsWith('.xz')) ?? names[0]
    if (!name) throw new Error(`SHA256SUMS has no ${target} tarball for v${version}`)
    const key = target.toUpperCase().replace('-', '_')
    vars[`URL_${key}`] = `${baseUrl.replace(/\/$/, '')}/${name}`
    vars[`SHA256_${key}`] = sums.get(name)
  }
  const out = template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, k) => {
    if (vars[k] === undefined) throw new Error(`template placeholder {{${k}}} has no value`)
    return vars[k]
  })
  return out
}

if (isMain(import.meta.url)) runSumsCli('homebrew-formula', renderFormula)
