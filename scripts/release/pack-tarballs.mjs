// Builds every release artifact into one directory:
//   tracebloc-cli-<ver>.tgz                         the npm package (`npm pack`, prepack = clean build)
//   tracebloc-v<ver>-<sha7>-<platform>-<arch>.tar.gz  `oclif pack tarballs`, Node 22.23.2 embedded
//   install.sh                                      packaging/install.sh
//   SHA256SUMS                                      sha256sum format over all of the above
//
//   npm run pack:tarballs -- [--targets linux-x64,...] [--out DIR] [--stage DIR] [--sha abc1234] [--xz]
//
// The pack runs in a staging copy of the working tree (node_modules symlinked), never in the checkout:
// prepack wipes and rebuilds dist/, and oclif writes tmp/ and dist/ under the root it packs. Node comes
// from the npm registry's per-platform packages, pinned in packaging/node-pins.json, seeded into the
// staging root's tmp/cache so oclif skips nodejs.org (see fetch-node.mjs).
import {execFileSync} from 'node:child_process'
import {
  copyFileSync, cpSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync,
  writeFileSync, readFileSync,
} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseOptions} from './cli-args.mjs'
import {cachePath, ensureNodeBinaries, readPins, sha256File} from './fetch-node.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const ALL_TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64']
// Not copied into the stage: build outputs, caches, VCS and local toolchains.
const SKIP = new Set(['.git', 'node_modules', 'dist', 'tmp', '.node', '.test-results', 'coverage', 'oclif.manifest.json'])

export function stageTree(stage) {
  rmSync(stage, {recursive: true, force: true})
  mkdirSync(stage, {recursive: true})
  for (const entry of readdirSync(repoRoot)) {
    if (SKIP.has(entry) || entry.endsWith('.tgz')) continue
    cpSync(path.join(repoRoot, entry), path.join(stage, entry), {recursive: true, verbatimSymlinks: true})
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(stage, 'node_modules'), 'dir')
}

export function gitShortSha() {
  try {
    return execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], {cwd: repoRoot, encoding: 'utf8'}).trim()
  } catch {
    return '0000000'
  }
}

/** `npm pack` in dir; returns the tarball path. The prepack hook's output goes to stderr. */
export function npmPack(dir, dest) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024,
  })
  const json = out.slice(out.search(/^\[/m))
  return path.join(dest, JSON.parse(json)[0].filename)
}

/**
 * oclif checks for 7-Zip before packing win32 even when the cached node.exe makes extraction unnecessary
 * (it only extracts nodejs.org's .7z). With the cache seeded, a stand-in that exits 0 is enough.
 */
export function sevenZipShim(stage) {
  try {
    execFileSync('sh', ['-c', 'command -v 7z'], {stdio: 'ignore'})
    return undefined
  } catch {
    const dir = path.join(stage, 'tmp', '7z-shim')
    mkdirSync(dir, {recursive: true})
    writeFileSync(path.join(dir, '7z'), '#!/bin/sh\n# stand-in: node.exe comes from tmp/cache, nothing to extract\nexit 0\n', {mode: 0o755})
    return dir
  }
}

/** Puts the checked Node binaries from the checkout's tmp/cache where oclif looks in the stage. */
export function linkNodeCache(stage, nodeVersion, targets) {
  for (const target of targets) {
    const src = cachePath(repoRoot, nodeVersion, target)
    const dest = cachePath(stage, nodeVersion, target)
    mkdirSync(path.dirname(dest), {recursive: true})
    rmSync(dest, {force: true})
    try {
      linkSync(src, dest)
    } catch {
      copyFileSync(src, dest)
    }
  }
}

export function writeSums(out) {
  const names = readdirSync(out).filter((f) => f !== 'SHA256SUMS' && !f.startsWith('.') && statSync(path.join(out, f)).isFile()).sort()
  return Promise.all(names.map(async (f) => `${await sha256File(path.join(out, f))}  ${f}\n`)).then((lines) => {
    writeFileSync(path.join(out, 'SHA256SUMS'), lines.join(''))
    return names
  })
}

/**
 * Packs the npm tarball and the oclif tarballs for `targets` into `out`, writes SHA256SUMS.
 * Returns {version, sha, npmTarball, tarballs: [{target, file, bytes}], timings: {npmPackMs, tarballsMs}}.
 */
export async function packRelease({
  targets = ALL_TARGETS, out = path.join(repoRoot, 'tmp', 'release'), stage = path.join(repoRoot, 'tmp', 'pack-stage'),
  sha = gitShortSha(), xz = false, log = (m) => console.error(m),
} = {}) {
  for (const t of targets) if (!ALL_TARGETS.includes(t)) throw new Error(`unknown target ${t} (known: ${ALL_TARGETS.join(', ')})`)
  const pins = readPins()
  const pjson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
  if (pjson.oclif?.update?.node?.version && pjson.oclif.update.node.version !== pins.node) {
    throw new Error(`package.json oclif.update.node.version ${pjson.oclif.update.node.version} != pinned ${pins.node}`)
  }

  log(`seeding Node ${pins.node} for ${targets.join(', ')}`)
  await ensureNodeBinaries({targets, log})

  rmSync(out, {recursive: true, force: true})
  mkdirSync(out, {recursive: true})
  log(`staging working tree in ${stage}`)
  stageTree(stage)

  let t0 = Date.now()
  log('npm pack (prepack: clean build)')
  const npmTarball = npmPack(stage, out)
  const npmPackMs = Date.now() - t0

  linkNodeCache(stage, pins.node, targets)

  // oclif moves the --tarball file into its workspace, so hand it a copy.
  const input = path.join(stage, 'tmp', path.basename(npmTarball))
  copyFileSync(npmTarball, input)
  const shim = targets.includes('win32-x64') ? sevenZipShim(stage) : undefined
  const env = {
    ...process.env,
    // The packed CLI declares its Node through oclif.update.node; pin it for the pack regardless.
    PATH: shim ? `${shim}${path.delimiter}${process.env.PATH}` : process.env.PATH,
    npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
  }
  t0 = Date.now()
  log(`oclif pack tarballs --targets ${targets.join(',')}`)
  execFileSync(process.execPath, [
    path.join(repoRoot, 'node_modules/oclif/bin/run.js'), 'pack', 'tarballs',
    '--root', stage, '--tarball', input, '--targets', targets.join(','), '--sha', sha, xz ? '--xz' : '--no-xz',
  ], {cwd: stage, env, stdio: ['ignore', 2, 2]})
  const tarballsMs = Date.now() - t0

  const tarballs = []
  for (const target of targets) {
    for (const ext of xz ? ['.tar.gz', '.tar.xz'] : ['.tar.gz']) {
      const name = `${pjson.oclif.bin}-v${pjson.version}-${sha}-${target}${ext}`
      const built = path.join(stage, 'dist', name)
      if (!existsSync(built)) throw new Error(`oclif did not produce ${name}`)
      const file = path.join(out, name)
      renameSync(built, file)
      tarballs.push({target, file, bytes: statSync(file).size})
    }
  }
  // The installer is a release asset too (…/releases/latest/download/install.sh), covered by SHA256SUMS.
  copyFileSync(path.join(repoRoot, 'packaging/install.sh'), path.join(out, 'install.sh'))
  await writeSums(out)
  return {version: pjson.version, sha, node: pins.node, npmTarball, tarballs, timings: {npmPackMs, tarballsMs}}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const values = parseOptions('pack-tarballs', {
    targets: {type: 'string'}, out: {type: 'string'}, stage: {type: 'string'}, sha: {type: 'string'}, xz: {type: 'boolean'},
  }, 'npm run pack:tarballs -- [--targets T1,T2] [--out DIR] [--stage DIR] [--sha SHA] [--xz]')
  try {
    const res = await packRelease({
      targets: values.targets?.split(','),
      out: values.out ? path.resolve(values.out) : undefined,
      stage: values.stage ? path.resolve(values.stage) : undefined,
      sha: values.sha,
      xz: values.xz,
    })
    const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`
    console.log(`npm package  ${path.basename(res.npmTarball)}  ${mib(statSync(res.npmTarball).size)}  (npm pack ${(res.timings.npmPackMs / 1000).toFixed(1)} s)`)
    for (const t of res.tarballs) console.log(`${t.target.padEnd(12)} ${path.basename(t.file)}  ${mib(t.bytes)}`)
    console.log(`oclif pack tarballs: ${(res.timings.tarballsMs / 1000).toFixed(1)} s; sums in ${path.join(path.dirname(res.npmTarball), 'SHA256SUMS')}`)
  } catch (error) {
    console.error(`pack-tarballs: ${error.message}`)
    process.exit(1)
  }
}
