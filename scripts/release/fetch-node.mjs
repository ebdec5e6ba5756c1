// Seeds oclif's Node cache from the npm registry so `oclif pack tarballs` never contacts nodejs.org.
// oclif copies `<root>/tmp/cache/node-v<ver>-<platform>-<arch>/node` (win32: `…-win32-x64.exe/node.exe`)
// when it exists and skips its own download (oclif lib/tarballs/node.js). Every binary is pinned twice
// in packaging/node-pins.json: the registry tarball's sha512 integrity and the binary's sha256.
//
//   node scripts/release/fetch-node.mjs [--root DIR] [--targets linux-x64,...]
//   node scripts/release/fetch-node.mjs --print-pins 22.23.2     (prints a fresh pins file; review before use)
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, chmodSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseOptions} from './cli-args.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const pinsFile = path.join(repoRoot, 'packaging/node-pins.json')

export function readPins() {
  return JSON.parse(readFileSync(pinsFile, 'utf8'))
}

export async function sha256File(file) {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk)
  return hash.digest('hex')
}

async function integrityOf(file) {
  const hash = createHash('sha512')
  for await (const chunk of createReadStream(file)) hash.update(chunk)
  return `sha512-${hash.digest('base64')}`
}

/** Where oclif looks for the cached binary of a target, relative to the CLI root it packs. */
export function cachePath(root, nodeVersion, target) {
  const win = target.startsWith('win32-')
  return path.join(root, 'tmp', 'cache', `node-v${nodeVersion}-${target}${win ? '.exe' : ''}`, win ? 'node.exe' : 'node')
}

/** `npm pack <spec>` into dir (the registry's own client); returns the tarball path and registry integrity. */
function npmPack(spec, dir) {
  const out = execFileSync('npm', ['pack', spec, '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [info] = JSON.parse(out)
  return {file: path.join(dir, info.filename), integrity: info.integrity}
}

async function extractOne(tgz, member, dest) {
  const {x} = await import('tar')
  const dir = mkdtempSync(path.join(path.dirname(dest), '.x-'))
  try {
    await x({file: tgz, cwd: dir, filter: (p) => p === `package/${member}`})
    const got = path.join(dir, 'package', member)
    if (!existsSync(got)) throw new Error(`${path.basename(tgz)} has no package/${member}`)
    chmodSync(got, 0o755)
    renameSync(got, dest)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * Makes sure every requested target's Node binary is in `<root>/tmp/cache` and matches its pin.
 * Returns [{target, file, sha256, fetched}]. Throws on any checksum mismatch.
 */
export async function ensureNodeBinaries({root = repoRoot, targets, log = () => {}} = {}) {
  const pins = readPins()
  const wanted = targets ?? Object.keys(pins.targets)
  const results = []
  for (const target of wanted) {
    const pin = pins.targets[target]
    if (!pin) throw new Error(`no Node pin for target ${target} in ${pinsFile}`)
    const dest = cachePath(root, pins.node, target)
    if (existsSync(dest) && (await sha256File(dest)) === pin.sha256) {
      results.push({target, file: dest, sha256: pin.sha256, fetched: false})
      continue
    }
    mkdirSync(path.dirname(dest), {recursive: true})
    const dl = mkdtempSync(path.join(path.dirname(dest), '.dl-'))
    try {
      log(`fetching ${pin.package}@${pins.node} from the npm registry`)
      const {file} = npmPack(`${pin.package}@${pins.node}`, dl)
      const integrity = await integrityOf(file)
      if (integrity !== pin.integrity) {
        throw new Error(`${pin.package}@${pins.node}: registry tarball integrity ${integrity} does not match pin ${pin.integrity}`)
      }
      const tmpDest = `${dest}.partial`
      await extractOne(file, pin.file, tmpDest)
      const sum = await sha256File(tmpDest)
      if (sum !== pin.sha256) {
        rmSync(tmpDest, {force: true})
        throw new Error(`${pin.package}@${pins.node}: ${pin.file} sha256 ${sum} does not match pin ${pin.sha256}`)
      }
      renameSync(tmpDest, dest)
      results.push({target, file: dest, sha256: sum, fetched: true})
    } finally {
      rmSync(dl, {recursive: true, force: true})
    }
  }
  return results
}

async function printPins(version) {
  const current = readPins()
  const dl = mkdtempSync(path.join(repoRoot, 'tmp', 'pins-'))
  try {
    const targets = {}
    for (const [target, pin] of Object.entries(current.targets)) {
      const {file, integrity} = npmPack(`${pin.package}@${version}`, dl)
      const bin = path.join(dl, `${target}-${path.basename(pin.file)}`)
      await extractOne(file, pin.file, bin)
      targets[target] = {package: pin.package, integrity, file: pin.file, sha256: await sha256File(bin)}
    }
    console.log(JSON.stringify({$comment: current.$comment, node: version, targets}, null, 2))
  } finally {
    rmSync(dl, {recursive: true, force: true})
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const values = parseOptions('fetch-node', {root: {type: 'string'}, targets: {type: 'string'}, 'print-pins': {type: 'string'}}, 'npm run pack:node -- [--root DIR] [--targets T1,T2] | --print-pins VERSION')
  try {
    if (values['print-pins']) {
      mkdirSync(path.join(repoRoot, 'tmp'), {recursive: true})
      await printPins(values['print-pins'])
    } else {
      const res = await ensureNodeBinaries({
        root: values.root ? path.resolve(values.root) : repoRoot,
        targets: values.targets?.split(','),
        log: (m) => console.error(m),
      })
      for (const r of res) console.log(`${r.target}  ${r.sha256}  ${path.relative(process.cwd(), r.file)}${r.fetched ? '  (fetched)' : ''}`)
    }
  } catch (error) {
    console.error(`fetch-node: ${error.message}`)
    process.exit(1)
  }
}
