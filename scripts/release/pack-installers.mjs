// Builds the platform installers from the npm package with `oclif pack`, Node bundled (the same pinned
// binaries as the tarballs, from the npm registry; see fetch-node.mjs):
//   tracebloc_amd64.deb, tracebloc_arm64.deb   `oclif pack deb`, then finished for Debian (see finishDeb)
//   tracebloc-x64.exe                          `oclif pack win`: NSIS installer, bin\tracebloc.cmd + bin\tb.cmd on PATH
//   tracebloc-x64.pkg, tracebloc-arm64.pkg     `oclif pack macos` (pkgbuild; macOS only)
// The names carry no version so that …/releases/latest/download/<name> is a stable URL; the version is in
// the package metadata (dpkg -I, the installer's file properties, pkgutil --pkg-info com.tracebloc.cli).
//
//   node scripts/release/pack-installers.mjs [--deb amd64,arm64] [--win] [--macos x64,arm64]
//       [--tarball tracebloc-cli-<ver>.tgz] [--out DIR] [--stage DIR] [--sha abc1234] [--fast]
//
// --tarball packs exactly that npm package (the release's); without it the stage runs `npm pack` itself.
// --fast trades size for time (tests): gzip -1 for the .deb, no NSIS compression. Contents are the same.
// Needs: dpkg-deb and apt-ftparchive (apt-utils) for --deb; makensis (nsis) and 7z (p7zip-full) for --win.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {
  chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync,
  statSync, symlinkSync, writeFileSync,
} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseOptions} from './cli-args.mjs'
import {ensureNodeBinaries, readPins} from './fetch-node.mjs'
import {gitShortSha, linkNodeCache, npmPack, sevenZipShim, stageTree} from './pack-tarballs.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const oclifBin = path.join(repoRoot, 'node_modules/oclif/bin/run.js')
export const DEB_ARCHES = {amd64: 'x64', arm64: 'arm64'}
export const MACOS_ARCHES = ['x64', 'arm64']
// What the bundled Node binary links against (objdump -T of node 22.23.2: GLIBC_2.28, GLIBCXX_3.4.21).
const DEB_DEPENDS = 'libc6 (>= 2.28), libgcc-s1 | libgcc1, libstdc++6 (>= 5.2)'

/** Debian version for a package.json version: 1.2.3 → 1.2.3-1, 1.2.3-rc.1 → 1.2.3~rc.1-1 (sorts before 1.2.3-1). */
export function debVersion(version) {
  const m = /^(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.]+))?$/.exec(version)
  if (!m) throw new Error(`not a release version: ${version}`)
  return `${m[1]}${m[2] ? `~${m[2]}` : ''}-1`
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024, ...opts})
}

/** Fails early, naming the Debian package, when a tool a pack needs is missing. */
function needTools(tools) {
  const missing = Object.entries(tools).filter(([tool]) => {
    try {
      run('sh', ['-c', `command -v ${tool}`], {stdio: 'ignore'})
      return false
    } catch {
      return true
    }
  })
  if (missing.length > 0) {
    throw new Error(`missing ${missing.map(([t]) => t).join(', ')}: apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`)
  }
}

function oclif(stage, args, env) {
  execFileSync(process.execPath, [oclifBin, ...args], {cwd: stage, env, stdio: ['ignore', 2, 2]})
}

function editJson(file, edit) {
  const json = JSON.parse(readFileSync(file, 'utf8'))
  edit(json)
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
}

/**
 * `oclif pack deb` runs `sudo chown -R root` and `sudo chgrp -R root` on its build tree. finishDeb rebuilds
 * the package with `dpkg-deb --root-owner-group`, which records root ownership without changing the
 * files, so those two calls are answered here and nothing else is let through.
 */
function sudoShim(stage) {
  return shim(stage, 'sudo', [
    '# stand-in for oclif pack deb: ownership is recorded by dpkg-deb --root-owner-group instead',
    'case "$1" in chown|chgrp) exit 0 ;; esac',
    'echo "sudo stand-in: refusing: $*" >&2',
    'exit 1',
  ])
}

/** A shell script named `name` alone in a fresh dir under the stage (for PATH); returns the dir. */
function shim(stage, name, lines) {
  const dir = path.join(stage, 'tmp', `${name}-shim`)
  mkdirSync(dir, {recursive: true})
  writeFileSync(path.join(dir, name), ['#!/bin/sh', ...lines, ''].join('\n'), {mode: 0o755})
  return dir
}

/**
 * `oclif pack win` writes bin\<alias>.cmd with the word `undefined` where the Node options go (it passes
 * none for aliases), so `tb` would run `node.exe undefined …\bin\run`. This makensis stand-in replaces
 * each alias launcher with the main one (they differ only in that bug) and then runs the real makensis.
 */
function makensisShim(stage, bin) {
  const real = run('sh', ['-c', 'command -v makensis'], {stdio: ['ignore', 'pipe', 'ignore']}).trim()
  return shim(stage, 'makensis', [
    '# stand-in for oclif pack win: repair the alias launchers next to the .nsi, then compile with the real makensis',
    'for a in "$@"; do',
    '  case "$a" in *.nsi)',
    '    d="$(dirname "$a")/bin"',
    `    for f in "$d"/*.cmd; do [ "$f" = "$d/${bin}.cmd" ] || cp "$d/${bin}.cmd" "$f"; done ;;`,
    '  esac',
    'done',
    `exec "${real}" "$@"`,
  ])
}

function walk(dir, rel = '') {
  const out = []
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = path.posix.join(rel, name)
    const st = lstatSync(path.join(dir, r))
    out.push({rel: r, st})
    if (st.isDirectory()) out.push(...walk(dir, r))
  }
  return out
}

/** bash, zsh and fish completion files, generated by the packaged CLI itself (host Node; the JS is the same on every arch). */
function generateCompletions(cliDir, work) {
  const home = mkdtempSync(path.join(work, 'completion-'))
  const env = {
    ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data'),
    TRACEBLOC_CACHE_DIR: path.join(home, 'cache'), TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', NO_COLOR: '1',
  }
  const cli = (args) => run(process.execPath, [path.join(cliDir, 'bin', 'run.js'), ...args], {env, stdio: ['ignore', 'pipe', 'pipe']})
  cli(['autocomplete', '--refresh-cache'])
  const functions = path.join(home, 'cache', 'autocomplete', 'functions')
  const files = {
    bash: readFileSync(path.join(functions, 'bash', 'tracebloc.bash'), 'utf8'),
    zsh: readFileSync(path.join(functions, 'zsh', '_tracebloc'), 'utf8'),
    fish: cli(['autocomplete', 'fish']),
  }
  rmSync(home, {recursive: true, force: true})
  return files
}

/**
 * Turns oclif's .deb into one that installs cleanly on Debian/Ubuntu: adds what oclif leaves out and
 * rebuilds it with dpkg-deb.
 * - /usr/bin/tb (oclif creates the alias link without waiting for it, so it can miss the package)
 * - bash, zsh and fish completion for both names where Debian's shells look for them
 * - /usr/share/doc/tracebloc/copyright
 * - a control file with a Debian version that orders prereleases correctly, Depends for the bundled
 *   Node, Installed-Size and Homepage; and DEBIAN/md5sums (dpkg --verify)
 * - the wrapper's update hint points at the release page (there is no apt repository)
 */
export function finishDeb({built, arch, version, pjson, out, work, fast}) {
  const root = path.join(work, `deb-${arch}`)
  rmSync(root, {recursive: true, force: true})
  run('dpkg-deb', ['-R', built, root])
  const lib = path.join(root, 'usr', 'lib', pjson.oclif.dirname)
  const bin = pjson.oclif.bin
  const names = [bin, ...(pjson.oclif.binAliases ?? [])]

  const wrapper = path.join(lib, 'bin', bin)
  const hint = `update by installing the newest ${bin}_${arch}.deb from ${pjson.homepage}/releases`
  writeFileSync(wrapper, readFileSync(wrapper, 'utf8').replace(/^export TRACEBLOC_UPDATE_INSTRUCTIONS=.*$/m, `export TRACEBLOC_UPDATE_INSTRUCTIONS="${hint}"`))

  for (const name of names) {
    const link = path.join(root, 'usr', 'bin', name)
    rmSync(link, {force: true})
    symlinkSync(`../lib/${pjson.oclif.dirname}/bin/${bin}`, link)
  }

  const completion = generateCompletions(lib, work)
  const share = path.join(root, 'usr', 'share')
  const put = (rel, text) => {
    mkdirSync(path.dirname(path.join(share, rel)), {recursive: true})
    writeFileSync(path.join(share, rel), text, {mode: 0o644})
  }
  const alias = (rel, target) => symlinkSync(target, path.join(share, rel))
  // bash-completion loads completions/<command> on first use of <command>: one file per name.
  put(`bash-completion/completions/${bin}`, completion.bash)
  // zsh (Debian's fpath includes vendor-completions): compinit binds every name on the #compdef line.
  const compdef = completion.zsh.split('\n', 1)[0].split(/\s+/)
  if (compdef[0] !== '#compdef' || !names.every((n) => compdef.includes(n))) throw new Error(`_${bin} does not name ${names.join(', ')} on its #compdef line`)
  put(`zsh/vendor-completions/_${bin}`, completion.zsh)
  // fish loads vendor_completions.d/<command>.fish on first use of <command>.
  put(`fish/vendor_completions.d/${bin}.fish`, completion.fish)
  for (const name of names.slice(1)) {
    alias(`bash-completion/completions/${name}`, bin)
    alias(`fish/vendor_completions.d/${name}.fish`, `${bin}.fish`)
  }
  put(`doc/${bin}/copyright`, readFileSync(path.join(lib, 'LICENSE'), 'utf8'))

  const entries = walk(root).filter((e) => !e.rel.startsWith('DEBIAN'))
  const installedKiB = entries.reduce((n, e) => n + (e.st.isFile() ? Math.ceil(e.st.size / 1024) : 1), 0)
  const pins = readPins()
  const [synopsis, detail] = pjson.description.split(/:\s*/, 2)
  const control = [
    `Package: ${bin}`,
    `Version: ${debVersion(version)}`,
    `Architecture: ${arch}`,
    `Maintainer: ${pjson.author}`,
    `Installed-Size: ${installedKiB}`,
    `Depends: ${DEB_DEPENDS}`,
    'Section: utils',
    'Priority: optional',
    `Homepage: ${pjson.homepage}`,
    // Synopsis: the part of package.json's description before the colon (Debian wants it short).
    `Description: ${synopsis}`,
    ...(detail ? [` ${detail[0].toUpperCase()}${detail.slice(1)}.`] : []),
    ` The tracebloc CLI (${pjson.name} ${version}) with Node.js ${pins.node} bundled in /usr/lib/${pjson.oclif.dirname}.`,
    ` Installs the commands ${names.join(' and ')}, with bash, zsh and fish completion for both.`,
    '',
  ].join('\n')
  writeFileSync(path.join(root, 'DEBIAN', 'control'), control)
  const md5 = entries.filter((e) => e.st.isFile()).map((e) => `${createHash('md5').update(readFileSync(path.join(root, e.rel))).digest('hex')}  ${e.rel}`)
  writeFileSync(path.join(root, 'DEBIAN', 'md5sums'), md5.join('\n') + '\n', {mode: 0o644})
  chmodSync(path.join(root, 'DEBIAN'), 0o755)

  const file = path.join(out, `${bin}_${arch}.deb`)
  run('dpkg-deb', ['--root-owner-group', ...(fast ? ['-Zgzip', '-z1'] : ['-Zxz']), '--build', root, file], {stdio: ['ignore', 'ignore', 'inherit']})
  rmSync(root, {recursive: true, force: true})
  return file
}

/**
 * Builds the requested installers into `out`. Returns [{kind, arch, file, bytes}] and timings (ms per kind).
 */
export async function packInstallers({
  deb = [], win = false, macos = [], tarball, out = path.join(repoRoot, 'tmp', 'installers'),
  stage = path.join(repoRoot, 'tmp', 'installers-stage'), sha = gitShortSha(), fast = false, log = (m) => console.error(m),
} = {}) {
  for (const a of deb) if (!DEB_ARCHES[a]) throw new Error(`unknown deb arch ${a} (known: ${Object.keys(DEB_ARCHES).join(', ')})`)
  for (const a of macos) if (!MACOS_ARCHES.includes(a)) throw new Error(`unknown macOS arch ${a} (known: ${MACOS_ARCHES.join(', ')})`)
  if (deb.length === 0 && !win && macos.length === 0) throw new Error('nothing to build: pass --deb, --win and/or --macos')
  needTools({
    ...(deb.length > 0 ? {'dpkg-deb': 'dpkg', 'apt-ftparchive': 'apt-utils'} : {}),
    ...(win ? {makensis: 'nsis'} : {}),
    ...(macos.length > 0 ? {pkgbuild: 'Xcode command line tools (macOS)'} : {}),
  })
  const pins = readPins()
  const targets = [...deb.map((a) => `linux-${DEB_ARCHES[a]}`), ...(win ? ['win32-x64'] : []), ...macos.map((a) => `darwin-${a}`)]
  log(`seeding Node ${pins.node} for ${targets.join(', ')}`)
  await ensureNodeBinaries({targets, log})

  mkdirSync(out, {recursive: true})
  log(`staging working tree in ${stage}`)
  stageTree(stage)
  const work = path.join(stage, 'tmp')
  mkdirSync(work, {recursive: true})
  let npmTarball
  if (tarball) {
    // The stage becomes that package (dist/, manifest, package.json) plus the lockfile oclif installs from.
    npmTarball = path.join(work, path.basename(tarball))
    copyFileSync(tarball, npmTarball)
    run('tar', ['xzf', npmTarball, '-C', stage, '--strip-components=1'])
  } else {
    log('npm pack (prepack: clean build)')
    npmTarball = npmPack(stage, work)
  }
  const pjsonFile = path.join(stage, 'package.json')
  const pjson = JSON.parse(readFileSync(pjsonFile, 'utf8'))
  if (pjson.oclif?.update?.node?.version !== pins.node) {
    throw new Error(`package.json oclif.update.node.version ${pjson.oclif?.update?.node?.version} != pinned ${pins.node}`)
  }
  linkNodeCache(stage, pins.node, targets)

  // oclif moves the --tarball file into its workspace: hand each pack its own copy.
  const input = () => {
    const copy = path.join(work, `input-${Date.now()}.tgz`)
    copyFileSync(npmTarball, copy)
    return copy
  }
  const baseEnv = {...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false'}
  const built = []
  const timings = {}
  const dist = (...p) => path.join(stage, 'dist', ...p)

  if (deb.length > 0) {
    const t0 = Date.now()
    // `oclif pack deb` has no --targets: it packs every linux target in oclif.update.node.targets.
    editJson(pjsonFile, (p) => {
      p.oclif.update.node.targets = deb.map((a) => `linux-${DEB_ARCHES[a]}`)
    })
    log(`oclif pack deb (${deb.join(', ')})`)
    oclif(stage, ['pack', 'deb', '--root', stage, '--tarball', input(), '--sha', sha, '--compression', 'none'],
      {...baseEnv, PATH: `${sudoShim(stage)}${path.delimiter}${process.env.PATH}`})
    for (const arch of deb) {
      const name = readdirSync(dist('deb')).find((f) => f.endsWith(`_${arch}.deb`))
      if (!name) throw new Error(`oclif pack deb produced no ${arch} package`)
      log(`finishing ${name}`)
      const file = finishDeb({built: dist('deb', name), arch, version: pjson.version, pjson, out, work, fast})
      built.push({kind: 'deb', arch, file, bytes: statSync(file).size})
    }
    timings.deb = Date.now() - t0
  }

  if (win) {
    const t0 = Date.now()
    if (fast) {
      const nsh = path.join(work, 'nsis-fast.nsh')
      writeFileSync(nsh, '; --fast: store files uncompressed (tests list the contents; they never download it)\nSetCompress off\n')
      editJson(pjsonFile, (p) => {
        p.oclif.nsisCustomization = nsh
      })
    }
    const shims = [makensisShim(stage, pjson.oclif.bin), sevenZipShim(stage)].filter(Boolean)
    log('oclif pack win (win32-x64)')
    oclif(stage, ['pack', 'win', '--root', stage, '--tarball', input(), '--sha', sha, '--targets', 'win32-x64', '--defender-exclusion', 'hidden'],
      {...baseEnv, PATH: [...shims, process.env.PATH].join(path.delimiter)})
    const name = `${pjson.oclif.bin}-v${pjson.version}-${sha}-x64.exe`
    if (!existsSync(dist('win32', name))) throw new Error(`oclif pack win did not produce ${name}`)
    const file = path.join(out, `${pjson.oclif.bin}-x64.exe`)
    renameSync(dist('win32', name), file)
    built.push({kind: 'win', arch: 'x64', file, bytes: statSync(file).size})
    timings.win = Date.now() - t0
  }

  if (macos.length > 0) {
    const t0 = Date.now()
    log(`oclif pack macos (${macos.join(', ')})`)
    oclif(stage, ['pack', 'macos', '--root', stage, '--tarball', input(), '--sha', sha, '--targets', macos.map((a) => `darwin-${a}`).join(',')], baseEnv)
    for (const arch of macos) {
      const name = `${pjson.oclif.bin}-v${pjson.version}-${sha}-${arch}.pkg`
      if (!existsSync(dist('macos', name))) throw new Error(`oclif pack macos did not produce ${name}`)
      const file = path.join(out, `${pjson.oclif.bin}-${arch}.pkg`)
      renameSync(dist('macos', name), file)
      built.push({kind: 'macos', arch, file, bytes: statSync(file).size})
    }
    timings.macos = Date.now() - t0
  }
  return {version: pjson.version, sha, built, timings}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const values = parseOptions('pack-installers', {
    deb: {type: 'string'}, win: {type: 'boolean'}, macos: {type: 'string'}, tarball: {type: 'string'},
    out: {type: 'string'}, stage: {type: 'string'}, sha: {type: 'string'}, fast: {type: 'boolean'},
  }, 'npm run pack:installers -- [--deb amd64,arm64] [--win] [--macos x64,arm64] [--tarball FILE] [--out DIR] [--stage DIR] [--sha SHA] [--fast]')
  const list = (s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : [])
  try {
    const res = await packInstallers({
      deb: list(values.deb), win: values.win, macos: list(values.macos),
      tarball: values.tarball ? path.resolve(values.tarball) : undefined,
      out: values.out ? path.resolve(values.out) : undefined,
      stage: values.stage ? path.resolve(values.stage) : undefined,
      sha: values.sha, fast: values.fast,
    })
    for (const b of res.built) console.log(`${b.kind.padEnd(6)} ${b.arch.padEnd(6)} ${path.basename(b.file)}  ${(b.bytes / 1048576).toFixed(1)} MiB`)
    console.log(Object.entries(res.timings).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', '))
  } catch (error) {
    console.error(`pack-installers: ${error.message}`)
    process.exit(1)
  }
}
