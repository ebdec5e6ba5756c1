// The scoop manifest generator: SHA256SUMS in, tracebloc.json out, validated against scoop's own manifest
// schema (test/fixtures/scoop/schema.json, vendored; see the README there). Fast: no packing.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {Ajv} from 'ajv'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const script = path.join(root, 'scripts/release/scoop-manifest.mjs')
const work = mkdtempSync(path.join(os.tmpdir(), 'tb-scoop-'))
after(() => rmSync(work, {recursive: true, force: true}))

// scoop's schema is draft-07 with two formats: uri and regex (.NET; the patterns used here are valid JS too).
const ajv = new Ajv({allErrors: true, strict: false})
ajv.addFormat('uri', (s: string) => URL.canParse(s))
ajv.addFormat('regex', (s: string) => {
  try {
    new RegExp(s)
    return true
  } catch {
    return false
  }
})
const validate = ajv.compile(JSON.parse(readFileSync(path.join(root, 'test/fixtures/scoop/schema.json'), 'utf8')))

const hex = (s: string) => createHash('sha256').update(s).digest('hex')
const targets = ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-x64']
function sums(version: string, names = targets.map((t) => `tracebloc-v${version}-abc1234-${t}.tar.gz`)): string {
  const file = path.join(work, `SHA256SUMS-${version}-${names.length}`)
  const lines = [...names, `tracebloc-cli-${version}.tgz`, 'tracebloc_amd64.deb', 'tracebloc-x64.exe'].map((n) => `${hex(n)}  ${n}`)
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}
const gen = (args: string[]) => spawnSync(process.execPath, [script, ...args], {encoding: 'utf8'})

interface Manifest {
  version: string
  architecture: {'64bit': {url: string; hash: string}}
  extract_dir: string
  bin: string[][]
  checkver: {url: string; regex: string}
  autoupdate: {architecture: {'64bit': {url: string}}; hash: {url: string}}
}

test('manifest from SHA256SUMS: the win32-x64 tarball with its hash, shims for tracebloc and tb; valid per scoop\'s schema', () => {
  const out = path.join(work, 'tracebloc.json')
  const r = gen(['--sums', sums('1.2.3'), '--version', 'v1.2.3', '--base-url', 'https://example.test/dl/', '--out', out])
  assert.equal(r.status, 0, r.stderr)
  const m = JSON.parse(readFileSync(out, 'utf8')) as Manifest
  assert.ok(validate(m), ajv.errorsText(validate.errors))
  assert.equal(m.version, '1.2.3')
  assert.deepEqual(m.architecture['64bit'], {
    url: 'https://example.test/dl/tracebloc-v1.2.3-abc1234-win32-x64.tar.gz',
    hash: hex('tracebloc-v1.2.3-abc1234-win32-x64.tar.gz'),
  })
  // The tarball unpacks to tracebloc/ with bin\tracebloc.cmd (oclif's launcher for the bundled node.exe).
  assert.equal(m.extract_dir, 'tracebloc')
  assert.deepEqual(m.bin, [['bin\\tracebloc.cmd', 'tracebloc'], ['bin\\tracebloc.cmd', 'tb']])
})

test('checkver and autoupdate reproduce this release\'s URL and hash from its SHA256SUMS, the way scoop substitutes them', () => {
  const sumsFile = sums('1.2.3')
  const r = gen(['--sums', sumsFile, '--version', '1.2.3'])
  assert.equal(r.status, 0, r.stderr)
  const m = JSON.parse(r.stdout) as Manifest
  assert.equal(m.checkver.url, 'https://github.com/tracebloc/cli/releases/latest/download/SHA256SUMS')
  // checkver: group 1 is the version, named groups become $match<Name> in autoupdate.
  const text = readFileSync(sumsFile, 'utf8')
  const hit = new RegExp(m.checkver.regex).exec(text)
  assert.ok(hit?.groups, 'checkver regex does not match SHA256SUMS')
  assert.equal(hit[1], '1.2.3')
  const url = m.autoupdate.architecture['64bit'].url.replaceAll('$version', hit[1]).replaceAll('$matchSha', hit.groups.sha)
  assert.equal(url, m.architecture['64bit'].url, 'autoupdate builds a different URL than the release has')
  // hash: $baseurl = the URL without its file name; scoop then finds the line naming $basename.
  const baseurl = url.slice(0, url.lastIndexOf('/'))
  assert.equal(m.autoupdate.hash.url.replace('$baseurl', baseurl), 'https://github.com/tracebloc/cli/releases/download/v1.2.3/SHA256SUMS')
  const basename = url.slice(url.lastIndexOf('/') + 1).replaceAll('.', '\\.')
  const line = new RegExp(`([a-fA-F0-9]{32,128})[\\x20\\t]+.*${basename}(?:\\s|$)`).exec(text)
  assert.equal(line?.[1], m.architecture['64bit'].hash)
})

test('scoop\'s schema rejects what scoop would reject (the validation is not vacuous)', () => {
  const r = gen(['--sums', sums('1.2.3'), '--version', '1.2.3'])
  const m = JSON.parse(r.stdout) as Record<string, unknown>
  const bad: Array<[string, Record<string, unknown>]> = [
    ['no license', Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'license'))],
    ['an unknown field', {...m, installs_to: 'C:\\'}],
    ['a malformed hash', {...m, architecture: {'64bit': {url: 'https://example.test/x.tar.gz', hash: 'xyz'}}}],
    ['a bin entry that is not strings', {...m, bin: [['bin\\tracebloc.cmd', 1]]}],
    ['a checkver regex that does not compile', {...m, checkver: {url: 'https://example.test/SHA256SUMS', regex: '(['}}],
  ]
  for (const [what, doc] of bad) assert.equal(validate(doc), false, `accepted ${what}`)
})

test('a release without the win32-x64 tarball, or of another version, yields no manifest', () => {
  const none = gen(['--sums', sums('1.2.3', targets.filter((t) => t !== 'win32-x64').map((t) => `tracebloc-v1.2.3-abc1234-${t}.tar.gz`)), '--version', '1.2.3'])
  assert.notEqual(none.status, 0)
  assert.match(none.stderr, /no win32-x64 tarball for v1\.2\.3/)
  assert.equal(none.stdout, '')
  const other = gen(['--sums', sums('1.2.4'), '--version', '1.2.3'])
  assert.notEqual(other.status, 0)
  assert.match(other.stderr, /no win32-x64 tarball for v1\.2\.3/)
})
