// The platform installers, built for real with `oclif pack` (scripts/release/pack-installers.mjs, once
// for the file, from the checkout's npm package): the amd64 .deb is installed into a throw-away dpkg root, run (tracebloc, tb, ingest
// validate, completion for both names) and removed again; the Windows x64 NSIS installer is listed
// with 7-Zip and its bundled node.exe checked against the pin (running it needs Windows: the release
// workflow does that on a Windows runner). --fast packs with little/no compression; contents are the same.
// Heavy (two oclif packs: ~1.5 min of CPU; 2-5 min wall on 2 busy cores): only with TRACEBLOC_TEST_DIST=1, as .ci/run
// sets it. Needs dpkg-deb, apt-ftparchive (apt-utils), makensis (nsis), 7z (p7zip-full).
// Locally: TRACEBLOC_TEST_DIST=1 npm test -- test/dist/installers.test.ts
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const pins = JSON.parse(readFileSync(path.join(root, 'packaging/node-pins.json'), 'utf8')) as {node: string; targets: Record<string, {sha256: string}>}
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}
const example = path.join(root, 'test/fixtures/examples/tabular_classification.yaml')

interface Run {code: number | null; stdout: string; stderr: string; out: Buffer}
function run(cmd: string, args: string[], opts: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd: opts.cwd ?? root, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      const buf = Buffer.concat(out)
      resolve({code, stdout: buf.toString('utf8'), stderr, out: buf})
    })
  })
}
const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 4000)}\n--- stderr\n${r.stderr.slice(0, 4000)}`
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Every path under dir (relative), directories marked with a trailing slash; symlinks are not followed. */
function tree(dir: string, rel = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name
    if (lstatSync(path.join(dir, r)).isDirectory()) out.push(`${r}/`, ...tree(dir, r))
    else out.push(r)
  }
  return out
}

const enabled = process.env.TRACEBLOC_TEST_DIST === '1'

describe('installers (TRACEBLOC_TEST_DIST=1)', {skip: enabled ? false : 'set TRACEBLOC_TEST_DIST=1 (as .ci/run does) to build the .deb and the Windows installer for real'}, () => {
  let work: string
  let deb: string
  let exe: string

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'tb-installers-'))
    const out = path.join(work, 'out')
    // The npm package of the checkout as built (npm test builds first; release.test.ts covers the
    // clean-build `npm pack`), so the installers do not pay for a second TypeScript build.
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work])
    assert.equal(pack.code, 0, show(pack))
    const npmTgz = path.join(work, (JSON.parse(pack.stdout) as Array<{filename: string}>)[0].filename)
    const res = await run(process.execPath, [path.join(root, 'scripts/release/pack-installers.mjs'),
      '--deb', 'amd64', '--win', '--fast', '--tarball', npmTgz, '--out', out, '--stage', path.join(work, 'stage'), '--sha', 'abc1234'])
    assert.equal(res.code, 0, show(res))
    deb = path.join(out, 'tracebloc_amd64.deb')
    exe = path.join(out, 'tracebloc-x64.exe')
    assert.ok(existsSync(deb) && existsSync(exe), `built: ${readdirSync(out).join(', ')}`)
    // The stage (a full workspace per target) is no longer needed: free the disk early.
    rmSync(path.join(work, 'stage'), {recursive: true, force: true})
    // Measured, not asserted: the pack's own per-kind timings (its last line).
    console.log(`# pack-installers: ${res.stdout.trim().split('\n').at(-1)}`)
  }, {timeout: 20 * 60_000}) // well above the suite's per-test default: two full oclif packs on a shared machine

  after(() => {
    if (work) rmSync(work, {recursive: true, force: true})
  })

  describe('.deb (amd64)', () => {
    test('control fields: Debian version, Depends for the bundled Node, no alias field dpkg does not know', async () => {
      const r = await run('dpkg-deb', ['-f', deb])
      assert.equal(r.code, 0, show(r))
      const fields = Object.fromEntries(r.stdout.split('\n').filter((l) => /^\S+: /.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]))
      assert.equal(fields.Package, 'tracebloc')
      assert.equal(fields.Version, `${pkg.version.replace('-', '~')}-1`)
      assert.equal(fields.Architecture, 'amd64')
      assert.match(fields.Depends, /^libc6 \(>= 2\.28\), /)
      assert.equal(fields.Section, 'utils')
      assert.ok(Number(fields['Installed-Size']) > 100_000, `Installed-Size ${fields['Installed-Size']} KiB`)
      assert.equal(fields.Aliases, undefined)
    })

    test('installs into a throw-away dpkg root: tracebloc and tb run on the bundled Node, completion works for both names, removal leaves nothing', async (t) => {
      // A dpkg database that knows only the host's real libc6/libgcc-s1/libstdc++6 entries, so Depends is
      // checked against real versions and nothing outside the root is touched.
      const droot = path.join(work, 'root')
      const admin = path.join(droot, 'var', 'lib', 'dpkg')
      for (const d of ['info', 'updates', 'triggers']) mkdirSync(path.join(admin, d), {recursive: true})
      const hostStatus = existsSync('/var/lib/dpkg/status') ? readFileSync('/var/lib/dpkg/status', 'utf8') : ''
      const wanted = new Set(['libc6', 'libgcc-s1', 'libgcc1', 'libstdc++6'])
      const stanzas = hostStatus.split(/\n\n+/).filter((s) => wanted.has(/^Package: (\S+)$/m.exec(s)?.[1] ?? '') && /^Status: install ok installed$/m.test(s) && /^Architecture: amd64$/m.test(s))
      if (stanzas.length < 2) return t.skip('the host has no dpkg database with libc6/libstdc++6 for amd64')
      writeFileSync(path.join(admin, 'status'), stanzas.join('\n\n') + '\n')
      for (const s of stanzas) {
        const name = /^Package: (\S+)$/m.exec(s)![1]
        writeFileSync(path.join(admin, 'info', /^Multi-Arch: same$/m.test(s) ? `${name}:amd64.list` : `${name}.list`), '')
      }
      writeFileSync(path.join(admin, 'available'), '')
      const before = tree(droot)
      // dpkg wants ldconfig and start-stop-daemon on PATH; as non-root it runs under fakeroot.
      const dpkgEnv = {...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH}`}
      const dpkg = (args: string[]) => process.getuid?.() === 0
        ? run('dpkg', [`--root=${droot}`, `--log=${path.join(work, 'dpkg.log')}`, ...args], {env: dpkgEnv})
        : run('fakeroot', ['dpkg', `--root=${droot}`, `--log=${path.join(work, 'dpkg.log')}`, '--force-not-root', ...args], {env: dpkgEnv})

      const inst = await dpkg(['-i', deb])
      assert.equal(inst.code, 0, show(inst))
      const listed = (await dpkg(['-L', 'tracebloc'])).stdout.trim().split('\n')
      for (const f of ['/usr/bin/tracebloc', '/usr/bin/tb', '/usr/lib/tracebloc/bin/node', '/usr/share/doc/tracebloc/copyright',
        '/usr/share/bash-completion/completions/tracebloc', '/usr/share/bash-completion/completions/tb',
        '/usr/share/zsh/vendor-completions/_tracebloc', '/usr/share/fish/vendor_completions.d/tracebloc.fish', '/usr/share/fish/vendor_completions.d/tb.fish']) {
        assert.ok(listed.includes(f), `dpkg -L lacks ${f}`)
      }
      const verify = await dpkg(['--verify', 'tracebloc'])
      assert.equal(verify.code, 0, show(verify))
      assert.equal(verify.stdout, '', 'dpkg --verify: every file matches DEBIAN/md5sums')

      // Run from the installed tree with no Node on PATH.
      const usrBin = path.join(droot, 'usr', 'bin')
      const home = path.join(work, 'home')
      mkdirSync(home)
      const env = {PATH: `${usrBin}:/usr/bin:/bin`, HOME: home, NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true'}
      const probe = await run('sh', ['-c', 'command -v node || echo none'], {env})
      assert.ok(probe.stdout.trim() === 'none' || !probe.stdout.startsWith(usrBin), 'PATH for the run')
      assert.equal(sha256(readFileSync(path.join(droot, 'usr', 'lib', 'tracebloc', 'bin', 'node'))), pins.targets['linux-x64'].sha256)
      for (const name of ['tracebloc', 'tb']) {
        const v = await run(path.join(usrBin, name), ['version', '--json'], {env})
        assert.equal(v.code, 0, show(v))
        const info = JSON.parse(v.stdout) as {version: string; node: string}
        assert.equal(info.version, pkg.version)
        assert.equal(info.node, `v${pins.node}`, `${name} runs on the bundled Node`)
        const val = await run(path.join(usrBin, name), ['ingest', 'validate', example], {env})
        assert.equal(val.code, 0, show(val))
        assert.match(val.stdout, /tabular_classification\.yaml: ok/)
        const help = await run(path.join(usrBin, name), ['--help'], {env})
        assert.equal(help.code, 0, show(help))
        assert.match(help.stdout, /ingest/)
      }

      // Completion from the installed files, the way each shell finds them by command name.
      const share = path.join(droot, 'usr', 'share')
      const bash = await run('bash', ['-c', `source ${share}/bash-completion/completions/tb; complete -p tb tracebloc; COMP_WORDS=(tb ingest ''); COMP_CWORD=2; _tracebloc_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`], {env})
      assert.equal(bash.code, 0, show(bash))
      assert.match(bash.stdout, /^complete -F _tracebloc_autocomplete tb$/m)
      assert.match(bash.stdout, /^validate$/m)
      const zshFile = readFileSync(path.join(share, 'zsh', 'vendor-completions', '_tracebloc'), 'utf8')
      assert.equal(zshFile.split('\n')[0], '#compdef tracebloc tb')
      if ((await run('sh', ['-c', 'command -v zsh'])).code === 0) {
        const zsh = await run('zsh', ['-fc', `fpath=(${share}/zsh/vendor-completions $fpath); autoload -Uz compinit; compinit -u -d ${home}/.zcompdump; print -r -- "$_comps[tracebloc] $_comps[tb]"`], {env})
        assert.equal(zsh.code, 0, show(zsh))
        assert.equal(zsh.stdout.trim(), '_tracebloc _tracebloc')
      }
      if ((await run('sh', ['-c', 'command -v fish'])).code === 0) {
        // fish searches $XDG_DATA_DIRS/fish/vendor_completions.d, as it does /usr/share on an installed system.
        const fish = await run('fish', ['-c', "complete -C 'tb ingest '; complete -C 'tb ingest validate x.yaml --'"], {env: {...env, XDG_DATA_DIRS: share}, cwd: home})
        assert.equal(fish.code, 0, show(fish))
        const words = fish.stdout.split('\n').map((l) => l.split('\t')[0])
        assert.ok(words.includes('validate'), show(fish))
        assert.ok(words.includes('--json'), show(fish))
      }

      const rm = await dpkg(['-r', 'tracebloc'])
      assert.equal(rm.code, 0, show(rm))
      const purge = await dpkg(['-P', 'tracebloc'])
      assert.equal(purge.code, 0, show(purge))
      const q = await run('dpkg-query', [`--admindir=${admin}`, '-W', 'tracebloc'])
      assert.notEqual(q.code, 0, 'dpkg still knows the package')
      for (const f of listed) if (f !== '/.' && !['/usr', '/usr/bin', '/usr/lib', '/usr/share', '/usr/share/doc'].includes(f)) assert.ok(!existsSync(path.join(droot, f)), `left behind: ${f}`)
      // The whole root is back to what it was, apart from dpkg's own bookkeeping.
      const bookkeeping = (p: string) => p.startsWith('var/lib/dpkg/')
      assert.deepEqual(tree(droot).filter((p) => !bookkeeping(p)), before.filter((p) => !bookkeeping(p)))
    })
  })

  describe('Windows installer (x64)', () => {
    test('7-Zip lists the CLI, the tracebloc and tb launchers, the bundled node.exe and the uninstaller', async () => {
      const r = await run('7z', ['l', '-slt', exe])
      assert.equal(r.code, 0, show(r))
      assert.match(r.stdout, /^Type = Nsis$/m)
      const paths = [...r.stdout.matchAll(/^Path = (.+)$/gm)].map((m) => m[1].replaceAll('\\', '/')).slice(1)
      for (const p of ['bin/tracebloc.cmd', 'bin/tb.cmd', 'client/bin/node.exe', 'client/bin/run', 'client/package.json', 'client/oclif.manifest.json',
        'client/dist/commands/ingest/validate.js', 'client/dist/lib/fast/entry.js', 'client/node_modules/@oclif/core/package.json', 'Uninstall.exe']) {
        assert.ok(paths.includes(p), `installer lacks ${p}`)
      }
      assert.ok(!paths.some((p) => p.endsWith('.d.ts') || p.endsWith('.js.map')), 'pretarball pruning applies to the installer too')
    })

    test('its node.exe is the pinned win32-x64 binary and both launchers start it on the CLI', async () => {
      const node = await run('7z', ['e', '-so', exe, 'client/bin/node.exe'])
      assert.equal(node.code, 0, node.stderr)
      assert.equal(sha256(node.out), pins.targets['win32-x64'].sha256)
      const pj = await run('7z', ['e', '-so', exe, 'client/package.json'])
      assert.equal((JSON.parse(pj.stdout) as {version: string}).version, pkg.version)
      const launcher = async (name: string) => {
        const cmd = await run('7z', ['e', '-so', exe, `bin/${name}.cmd`])
        assert.equal(cmd.code, 0, cmd.stderr)
        return cmd.stdout
      }
      const main = await launcher('tracebloc')
      // From <install>\bin: ..\client\bin\node.exe ..\client\bin\run, passing the arguments through.
      assert.match(main, /"%~dp0\\\.\.\\client\\bin\\node\.exe"\s+"%~dp0\\\.\.\\client\\bin\\run" %\*/)
      assert.doesNotMatch(main, /undefined/)
      assert.equal(await launcher('tb'), main, 'tb.cmd starts the CLI exactly like tracebloc.cmd')
    })
  })
})
