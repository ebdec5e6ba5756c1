// The Homebrew formula generator: SHA256SUMS in, Formula/tracebloc.rb out (fast; no packing).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const script = path.join(root, 'scripts/release/homebrew-formula.mjs')
const work = mkdtempSync(path.join(os.tmpdir(), 'tb-brew-'))
after(() => rmSync(work, {recursive: true, force: true}))

const hex = (s: string) => createHash('sha256').update(s).digest('hex')
function sums(targets: string[], version = '1.2.3'): string {
  const file = path.join(work, `SHA256SUMS-${targets.length}-${version}`)
  const lines = targets.map((t) => `${hex(t)}  tracebloc-v${version}-abc1234-${t}.tar.gz`)
  lines.push(`${hex('npm')}  tracebloc-cli-${version}.tgz`)
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}
const gen = (args: string[]) => spawnSync(process.execPath, [script, ...args], {encoding: 'utf8'})

test('formula pins each OS/arch tarball to its URL and sha256, inside the right on_os/on_arch block', () => {
  const all = ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-x64']
  const out = path.join(work, 'tracebloc.rb')
  const r = gen(['--sums', sums(all), '--version', 'v1.2.3', '--base-url', 'https://example.test/dl/', '--out', out])
  assert.equal(r.status, 0, r.stderr)
  const rb = readFileSync(out, 'utf8')
  assert.doesNotMatch(rb, /\{\{/, 'unfilled placeholder')
  assert.match(rb, /^class Tracebloc < Formula$/m)
  assert.match(rb, /^ {2}version "1\.2\.3"$/m)
  assert.match(rb, /^ {2}license "Apache-2\.0"$/m)
  const block = (os: string, arch: string) => {
    const osBody = new RegExp(`on_${os} do\\n([\\s\\S]*?)\\n {2}end`).exec(rb)?.[1] ?? ''
    return new RegExp(`on_${arch} do\\n\\s*url "([^"]+)"\\n\\s*sha256 "([0-9a-f]{64})"`).exec(osBody)
  }
  for (const [os, arch, target] of [['macos', 'arm', 'darwin-arm64'], ['macos', 'intel', 'darwin-x64'], ['linux', 'arm', 'linux-arm64'], ['linux', 'intel', 'linux-x64']]) {
    const m = block(os, arch)
    assert.ok(m, `no on_${os}/on_${arch} block`)
    assert.equal(m[1], `https://example.test/dl/tracebloc-v1.2.3-abc1234-${target}.tar.gz`)
    assert.equal(m[2], hex(target))
  }
  assert.doesNotMatch(rb, /win32/)
  // The short name and its completion: bin/tb and completion files for both names.
  assert.match(rb, /^ {4}bin\.install_symlink libexec\/"bin\/tracebloc" => "tb"$/m)
  assert.match(rb, /^ {4}bash_completion\.install_symlink bash_completion\/"tracebloc" => "tb"$/m)
  assert.match(rb, /^ {4}fish_completion\.install_symlink fish_completion\/"tracebloc\.fish" => "tb\.fish"$/m)
  assert.match(rb, /shell_output\("#\{bin\}\/tb version"\)/)
  // brew style: desc without a leading article or trailing period, under 80 characters.
  const desc = /^ {2}desc "([^"]+)"$/m.exec(rb)?.[1] ?? ''
  assert.ok(desc.length > 0 && desc.length < 80 && !/^(a|an|the) /i.test(desc) && !desc.endsWith('.'), desc)
})

const hasRuby = !spawnSync('ruby', ['-v'], {stdio: 'ignore'}).error
test('the formula is valid Ruby (ruby -c)', {skip: hasRuby ? false : 'ruby is not installed (.ci/run installs it)'}, () => {
  const out = path.join(work, 'syntax.rb')
  const all = ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64']
  assert.equal(gen(['--sums', sums(all), '--version', '1.2.3', '--out', out]).status, 0)
  const ruby = spawnSync('ruby', ['-c', out], {encoding: 'utf8'})
  assert.equal(ruby.status, 0, ruby.stderr)
})

test('a release missing an OS/arch tarball yields no formula', () => {
  const r = gen(['--sums', sums(['darwin-arm64', 'darwin-x64', 'linux-x64']), '--version', '1.2.3'])
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, /no linux-arm64 tarball for v1\.2\.3/)
  assert.equal(r.stdout, '')
})

test('tarballs of another version do not satisfy the formula', () => {
  const r = gen(['--sums', sums(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64'], '1.2.4'), '--version', '1.2.3'])
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, /no darwin-arm64 tarball for v1\.2\.3/)
})
