// Distribution, end to end: the npm package, the linux-x64 oclif tarball (Node bundled) and install.sh.
// One pack per run (shared before()): `scripts/release/pack-tarballs.mjs --targets linux-x64` in a
// staging copy, artifacts in a temp dir. install.sh is exercised against a real HTTP server on
// 127.0.0.1 with a PATH that has neither node nor cosign (only the few tools the script needs).
// Heavy (a real pack plus several 220 MB installs; ~1.5-3 min on 2 busy cores), so it runs only with
// TRACEBLOC_TEST_DIST=1, which .ci/run sets. Locally: TRACEBLOC_TEST_DIST=1 npm test -- test/dist/release.test.ts
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, realpathSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {Transform} from 'node:stream'
import {after, before, describe, test} from 'node:test'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const installSh = path.join(root, 'packaging/install.sh')
const pins = JSON.parse(readFileSync(path.join(root, 'packaging/node-pins.json'), 'utf8')) as {node: string; targets: Record<string, {sha256: string}>}
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string; files: string[]; oclif: {hooks?: Record<string, string | string[]>}}

interface Run {code: number | null; stdout: string; stderr: string}
function run(cmd: string, args: string[], opts: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd: opts.cwd ?? root, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}
const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`

function which(tool: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, tool)
    if (dir && existsSync(p) && !statSync(p).isDirectory()) return p
  }
  for (const dir of ['/usr/bin', '/bin']) if (existsSync(path.join(dir, tool))) return path.join(dir, tool)
  throw new Error(`tool ${tool} not found`)
}

/** A PATH directory with only these tools: proves nothing else (node, cosign) is needed or picked up. */
function toolDir(dir: string, tools: string[]): string {
  mkdirSync(dir, {recursive: true})
  for (const t of tools) symlinkSync(which(t), path.join(dir, t))
  return dir
}
// What install.sh and oclif's bash wrapper call.
const BASE_TOOLS = ['sh', 'bash', 'env', 'curl', 'sha256sum', 'cut', 'grep', 'tar', 'gzip', 'mktemp', 'rm', 'mkdir', 'mv',
  'ln', 'id', 'uname', 'sed', 'wc', 'tr', 'touch', 'cat', 'dirname', 'readlink']

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

// Packing (npm pack + oclif pack tarballs for linux-x64) happens once for the whole file.
let work: string
let out: string
let npmTgz: string
let tarball: string
let tools: string
// `ingest validate` must accept this (shipped in the repo: CI has no /work/shared).
const example = path.join(root, 'test/fixtures/examples/tabular_classification.yaml')

/** `tracebloc version --json` and `tracebloc ingest validate <example>` from an installed CLI. */
async function versionAndValidate(bin: string, env: NodeJS.ProcessEnv, node: string) {
  const v = await run(bin, ['version', '--json'], {env})
  assert.equal(v.code, 0, show(v))
  const info = JSON.parse(v.stdout) as {version: string; node: string; platform: string}
  assert.equal(info.version, pkg.version)
  assert.equal(info.node, node)
  const r = await run(bin, ['ingest', 'validate', example], {env})
  assert.equal(r.code, 0, show(r))
  assert.match(r.stdout, /tabular_classification\.yaml: ok/)
  // Through oclif (not the fast path): help lists the commands from the shipped manifest.
  const help = await run(bin, ['--help'], {env})
  assert.equal(help.code, 0, show(help))
  assert.match(help.stdout, /ingest/)
}

const enabled = process.env.TRACEBLOC_TEST_DIST === '1'

describe('distribution (TRACEBLOC_TEST_DIST=1)', {skip: enabled ? false : 'set TRACEBLOC_TEST_DIST=1 (as .ci/run does) to pack and install for real'}, () => {
  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'tb-dist-'))
    out = path.join(work, 'release')
    const res = await run(process.execPath, [path.join(root, 'scripts/release/pack-tarballs.mjs'),
      '--targets', 'linux-x64', '--out', out, '--stage', path.join(work, 'stage'), '--sha', 'abc1234'])
    assert.equal(res.code, 0, show(res))
    const files = readdirSync(out)
    npmTgz = path.join(out, files.find((f) => f.endsWith('.tgz'))!)
    tarball = path.join(out, `tracebloc-v${pkg.version}-abc1234-linux-x64.tar.gz`)
    assert.ok(existsSync(tarball), `no linux-x64 tarball in ${files.join(', ')}`)
    tools = toolDir(path.join(work, 'tools'), BASE_TOOLS)
  })

  after(() => {
    if (work) rmSync(work, {recursive: true, force: true})
  })

  describe('release artifacts', () => {
    test('SHA256SUMS lists every artifact with its real digest', () => {
      const lines = readFileSync(path.join(out, 'SHA256SUMS'), 'utf8').trim().split('\n')
      const listed = new Map(lines.map((l) => {
        const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(l)
        assert.ok(m, `bad SHA256SUMS line: ${l}`)
        return [m[2], m[1]] as const
      }))
      assert.deepEqual([...listed.keys()].sort(), readdirSync(out).filter((f) => f !== 'SHA256SUMS').sort())
      for (const [name, digest] of listed) assert.equal(digest, sha256(path.join(out, name)), name)
    })

    test('the npm package ships only what runs', async () => {
      const res = await run('tar', ['tzf', npmTgz])
      assert.equal(res.code, 0, show(res))
      const entries = res.stdout.trim().split('\n').map((e) => e.replace(/^package\//, ''))
      const allowed = /^(bin\/run\.(js|cmd)|dist\/(commands|lib|hooks)\/.+\.js|dist\/lib\/fast\/(oclif-help\.cjs|help-text\.json)|schema\/[^/]+\.json|oclif\.manifest\.json|package\.json|README\.md|LICENSE)$/
      const stray = entries.filter((e) => !allowed.test(e))
      assert.deepEqual(stray, [], `files outside the runtime set: ${stray.join(', ')}`)
      for (const must of ['bin/run.js', 'oclif.manifest.json', 'package.json', 'LICENSE']) assert.ok(entries.includes(must), `missing ${must}`)
      for (const hook of Object.values(pkg.oclif.hooks ?? {}).flat()) assert.ok(entries.includes(hook.replace(/^\.\//, '')), `hook ${hook} not shipped`)
      // Every command the manifest routes to is in the package.
      const manifest = JSON.parse(readFileSync(path.join(work, 'stage', 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {relativePath?: string[]; pluginName?: string}>}
      for (const [id, c] of Object.entries(manifest.commands)) {
        if (c.relativePath) assert.ok(entries.includes(c.relativePath.join('/')), `command ${id}: ${c.relativePath.join('/')} not shipped`)
      }
    })

    test('npm pack output installs globally into a temp prefix and runs', async () => {
      const prefix = path.join(work, 'npm-prefix')
      const res = await run('npm', ['i', '-g', '--prefix', prefix, npmTgz, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'])
      assert.equal(res.code, 0, show(res))
      const bin = path.join(prefix, 'bin', 'tracebloc')
      const env = {...process.env, HOME: path.join(work, 'home-npm'), TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true'}
      const v = await run(bin, ['--version'], {env})
      assert.equal(v.code, 0, show(v))
      assert.match(v.stdout, new RegExp(`^tracebloc ${pkg.version.replaceAll('.', '\\.')}\n`))
      // npm's install runs on the Node that runs npm (this test's), not a bundled one.
      await versionAndValidate(bin, env, process.version)
      await versionAndValidate(path.join(prefix, 'bin', 'tb'), env, process.version)
    })

    test('the linux-x64 tarball runs with no Node on PATH, on its bundled Node', async (t) => {
      if (process.platform !== 'linux' || process.arch !== 'x64') return t.skip('needs a linux-x64 host')
      const dir = path.join(work, 'tarball')
      mkdirSync(dir)
      const x = await run('tar', ['xzf', tarball, '-C', dir])
      assert.equal(x.code, 0, show(x))
      const cli = path.join(dir, 'tracebloc')
      assert.equal(sha256(path.join(cli, 'bin', 'node')), pins.targets['linux-x64'].sha256, 'bundled node is not the pinned binary')
      const env = {PATH: tools, HOME: path.join(work, 'home-tar')}
      mkdirSync(env.HOME) // oclif's bash wrapper cd's into HOME
      const probe = await run('sh', ['-c', 'command -v node || echo none'], {env})
      assert.equal(probe.stdout.trim(), 'none', 'test PATH must not contain node')
      const v = await run(path.join(cli, 'bin', 'tracebloc'), ['--version'], {env})
      assert.equal(v.code, 0, show(v))
      assert.match(v.stdout, new RegExp(`^node v${pins.node.replaceAll('.', '\\.')} on linux-x64$`, 'm'))
      await versionAndValidate(path.join(cli, 'bin', 'tracebloc'), env, `v${pins.node}`)
      assert.equal(readlinkSync(path.join(cli, 'bin', 'tb')), 'tracebloc')
      await versionAndValidate(path.join(cli, 'bin', 'tb'), env, `v${pins.node}`)
    })
  })

  describe('install.sh against a loopback release server', () => {
    let server: http.Server
    let base: string
    const requests: string[] = []

    before(async () => {
      // /plain/*    the artifacts as packed (no signature bundle)
      // /tampered/* the same, but one byte of every .tar.gz body is flipped (SHA256SUMS untouched)
      // /signed/*   the artifacts plus a SHA256SUMS.sigstore.json bundle
      server = http.createServer((req, res) => {
        requests.push(req.url ?? '')
        const [, scenario, name] = (req.url ?? '').split('/')
        if (scenario === 'signed' && name === 'SHA256SUMS.sigstore.json') {
          res.end('{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1"}')
          return
        }
        const file = path.join(out, path.basename(name ?? ''))
        if (!['plain', 'tampered', 'signed'].includes(scenario) || !name || !existsSync(file)) {
          res.writeHead(404).end('not found')
          return
        }
        res.writeHead(200, {'content-length': statSync(file).size})
        const body = createReadStream(file)
        if (scenario !== 'tampered' || !name.endsWith('.tar.gz')) {
          body.pipe(res)
          return
        }
        let seen = 0
        const flip = statSync(file).size >> 1
        body.pipe(new Transform({
          transform(chunk: Buffer, _enc, cb) {
            if (flip >= seen && flip < seen + chunk.length) chunk[flip - seen] ^= 0xff
            seen += chunk.length
            cb(null, chunk)
          },
        })).pipe(res)
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    after(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

    const install = (args: string[], env: Record<string, string> = {}, pathDirs: string[] = []) => {
      const home = env.HOME ?? path.join(work, 'home-install')
      mkdirSync(home, {recursive: true})
      return run('sh', [installSh, ...args], {env: {PATH: [...pathDirs, tools].join(':'), ...env, HOME: home}})
    }

    test('without cosign it stops loudly, before downloading the tarball, unless the user opts out', async () => {
      const prefix = path.join(work, 'p-nocosign')
      const before = requests.length
      const r = await install(['--base-url', `${base}/plain`, '--prefix', prefix])
      assert.notEqual(r.code, 0, show(r))
      assert.match(r.stderr, /cosign is not installed/)
      assert.match(r.stderr, /--skip-signature/)
      assert.ok(!existsSync(path.join(prefix, 'bin', 'tracebloc')), 'nothing may be installed')
      assert.ok(!requests.slice(before).some((u) => u.endsWith('.tar.gz')), 'tarball downloaded despite the refusal')
    })

    test('--skip-signature installs, links tracebloc, prints the PATH hint and sets up completion', async () => {
      const prefix = path.join(work, 'p-ok')
      const home = path.join(work, 'home-ok')
      mkdirSync(home)
      const r = await install(['--base-url', `${base}/plain`, '--prefix', prefix, '--skip-signature', '--completion', 'bash'], {HOME: home})
      assert.equal(r.code, 0, show(r))
      assert.match(r.stderr, /signature NOT verified/)
      assert.match(r.stdout, /checksum ok/)
      assert.match(r.stdout, new RegExp(`${prefix}/bin is not on your PATH`))
      const link = path.join(prefix, 'bin', 'tracebloc')
      assert.ok(lstatSync(link).isSymbolicLink())
      assert.equal(realpathSync(link), path.join(prefix, 'lib', 'tracebloc', 'bin', 'tracebloc'))
      const env = {PATH: tools, HOME: home}
      await versionAndValidate(link, env, `v${pins.node}`)
      const short = path.join(prefix, 'bin', 'tb')
      assert.equal(realpathSync(short), path.join(prefix, 'lib', 'tracebloc', 'bin', 'tracebloc'))
      await versionAndValidate(short, env, `v${pins.node}`)
      const rc = readFileSync(path.join(home, '.bashrc'), 'utf8')
      assert.match(rc, /TRACEBLOC_AC_BASH_SETUP_PATH=.*bash_setup/)
      assert.ok(existsSync(path.join(home, '.cache', 'tracebloc', 'autocomplete', 'functions', 'bash', 'tracebloc.bash')))

    })

    test('--version picks that release from SHA256SUMS and refuses one that is not listed', async () => {
      const missing = await install(['--base-url', `${base}/plain`, '--prefix', path.join(work, 'p-ver'), '--skip-signature', '--version', '9.9.9'])
      assert.notEqual(missing.code, 0, show(missing))
      assert.match(missing.stderr, /no linux-x64 tarball for version 9\.9\.9 listed/)
      // A version that only matches with '.' as a regex wildcard must not match either.
      const wildcard = await install(['--base-url', `${base}/plain`, '--prefix', path.join(work, 'p-ver'), '--skip-signature', '--version', pkg.version.replaceAll('.', 'x')])
      assert.notEqual(wildcard.code, 0, show(wildcard))
      assert.ok(!existsSync(path.join(work, 'p-ver', 'bin', 'tracebloc')))
    })

    test('a tampered tarball is refused and nothing is installed', async () => {
      const prefix = path.join(work, 'p-tampered')
      const r = await install(['--base-url', `${base}/tampered`, '--prefix', prefix, '--skip-signature'])
      assert.notEqual(r.code, 0, show(r))
      assert.match(r.stderr, /CHECKSUM MISMATCH for tracebloc-v.*-linux-x64\.tar\.gz/)
      assert.ok(!existsSync(path.join(prefix, 'bin', 'tracebloc')))
      assert.ok(!existsSync(path.join(prefix, 'lib', 'tracebloc')))
    })

    test('with cosign present it verifies SHA256SUMS against the release workflow identity and obeys the verdict (good verdict = upgrade in place)', async () => {
      // A stand-in cosign that records its arguments and returns a chosen verdict: what is under test is
      // install.sh's wiring (bundle, identity, issuer, refusal), not Sigstore itself.
      const fake = path.join(work, 'fake-cosign')
      mkdirSync(fake)
      writeFileSync(path.join(fake, 'cosign'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_COSIGN_LOG"\necho "fake verdict $FAKE_COSIGN_EXIT" >&2\nexit "$FAKE_COSIGN_EXIT"\n', {mode: 0o755})
      const log = path.join(work, 'cosign.log')

      const bad = await install(['--base-url', `${base}/signed`, '--prefix', path.join(work, 'p-sig-bad')], {FAKE_COSIGN_LOG: log, FAKE_COSIGN_EXIT: '1'}, [fake])
      assert.notEqual(bad.code, 0, show(bad))
      assert.match(bad.stderr, /SIGNATURE VERIFICATION FAILED/)
      assert.ok(!existsSync(path.join(work, 'p-sig-bad', 'bin', 'tracebloc')))
      const argv = readFileSync(log, 'utf8').trim().split('\n')
      assert.equal(argv[0], 'verify-blob')
      assert.equal(argv[argv.indexOf('--certificate-oidc-issuer') + 1], 'https://token.actions.githubusercontent.com')
      assert.match(argv[argv.indexOf('--certificate-identity-regexp') + 1], /tracebloc\/cli\/\\\.github\/workflows\/release\\\.yml@refs\/tags\/v/)
      assert.match(argv[argv.indexOf('--bundle') + 1], /SHA256SUMS\.sigstore\.json$/)
      assert.match(argv.at(-1) ?? '', /SHA256SUMS$/)

      const noBundle = await install(['--base-url', `${base}/plain`, '--prefix', path.join(work, 'p-sig-none')], {FAKE_COSIGN_LOG: log, FAKE_COSIGN_EXIT: '0'}, [fake])
      assert.notEqual(noBundle.code, 0, show(noBundle))
      assert.match(noBundle.stderr, /no signature bundle/)

      // A good verdict installs; here over an existing install (p-ok from the test above), i.e. an upgrade in
      // place with the env-var spellings of the options (incl. an explicit version) and fish completion: no PATH hint, no leftovers.
      const prefix = path.join(work, 'p-ok')
      const home = path.join(work, 'home-ok')
      // Someone else's `tb` in the same bin dir is neither replaced nor removed.
      const foreign = path.join(prefix, 'bin', 'tb')
      rmSync(foreign)
      writeFileSync(foreign, '#!/bin/sh\necho another tb\n', {mode: 0o755})
      const good = await run('sh', [installSh, '--completion', 'fish'], {env: {
        PATH: `${fake}:${prefix}/bin:${tools}`, HOME: home, TRACEBLOC_INSTALL_BASE_URL: `${base}/signed`, TRACEBLOC_INSTALL_PREFIX: prefix,
        TRACEBLOC_VERSION: pkg.version, FAKE_COSIGN_LOG: log, FAKE_COSIGN_EXIT: '0',
      }})
      assert.equal(good.code, 0, show(good))
      assert.match(good.stdout, /signature ok/)
      assert.doesNotMatch(good.stdout, /not on your PATH/)
      assert.match(readFileSync(path.join(home, '.config', 'fish', 'completions', 'tracebloc.fish'), 'utf8'), /complete -c tracebloc/)
      assert.equal(readlinkSync(path.join(home, '.config', 'fish', 'completions', 'tb.fish')), 'tracebloc.fish')
      assert.match(good.stderr, /bin\/tb exists and is not from this install; left it alone/)
      assert.equal(readFileSync(foreign, 'utf8'), '#!/bin/sh\necho another tb\n')
      assert.deepEqual(readdirSync(path.join(prefix, 'lib')), ['tracebloc'], 'no staging leftovers')
      const v = await run(path.join(prefix, 'bin', 'tracebloc'), ['--version'], {env: {PATH: tools, HOME: home}})
      assert.equal(v.code, 0, show(v))

      const un = await install(['--prefix', prefix, '--uninstall'], {HOME: home})
      assert.equal(un.code, 0, show(un))
      assert.ok(!existsSync(path.join(prefix, 'bin', 'tracebloc')) && !existsSync(path.join(prefix, 'lib', 'tracebloc')))
      assert.equal(readFileSync(foreign, 'utf8'), '#!/bin/sh\necho another tb\n', 'uninstall removed a tb it did not install')
    })
  })

})
