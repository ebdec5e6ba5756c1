// Real install layouts of the built CLI for the upgrade tests: a copy of the package (bin/run.js, dist/,
// schema/, manifest) stamped with a version, its dependencies linked from this checkout's node_modules.
import {execFileSync} from 'node:child_process'
import {chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {root} from './cli.js'

/** A scratch directory inside the checkout (tmp/ is git-ignored), for layouts that resolve its node_modules. */
export function checkoutTmp(prefix: string): string {
  mkdirSync(path.join(root, 'tmp'), {recursive: true})
  return mkdtempSync(path.join(root, 'tmp', prefix))
}

/** The package's files, version `version`, into `dir` (created). No node_modules. */
export function packageCopy(dir: string, version: string, opts: {dependencies?: boolean} = {}): void {
  mkdirSync(path.join(dir, 'bin'), {recursive: true})
  cpSync(path.join(root, 'bin/run.js'), path.join(dir, 'bin/run.js'))
  cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), {recursive: true})
  cpSync(path.join(root, 'schema'), path.join(dir, 'schema'), {recursive: true})
  const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>
  pjson.version = version
  delete pjson.scripts
  delete pjson.devDependencies
  if (opts.dependencies === false) delete pjson.dependencies
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pjson, null, 2))
  const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {version: string}
  manifest.version = version
  writeFileSync(path.join(dir, 'oclif.manifest.json'), JSON.stringify(manifest))
}

export function linkDependencies(dir: string): void {
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
}

/**
 * The release tarball layout (`tracebloc/bin/tracebloc` launcher running the bundled `bin/node`, as
 * `oclif pack tarballs` makes it). The bundled Node is a stand-in that runs this test's Node, and the
 * dependencies resolve from this checkout's node_modules: `dir` must lie inside the checkout (tmp/).
 * No symlinks, so the tarball unpacks anywhere.
 */
export function tarballTree(dir: string, version: string): void {
  if (!path.resolve(dir).startsWith(root + path.sep)) throw new Error(`tarballTree: ${dir} is not inside ${root}`)
  packageCopy(dir, version)
  writeFileSync(path.join(dir, 'bin/node'), `#!/bin/sh\nexec '${process.execPath}' "$@"\n`)
  chmodSync(path.join(dir, 'bin/node'), 0o755)
  const launcher = path.join(dir, 'bin/tracebloc')
  writeFileSync(launcher, '#!/bin/sh\nd="$(dirname "$(readlink -f "$0")")"\nexec "$d/node" "$d/run.js" "$@"\n')
  chmodSync(launcher, 0o755)
}

/** `tracebloc-v<version>-<sha>-<target>.tar.gz` in `outDir`, holding `tracebloc/`; returns its file name. */
export function releaseTarball(outDir: string, version: string, work: string): string {
  const tree = path.join(work, `tree-${version}`)
  tarballTree(path.join(tree, 'tracebloc'), version)
  const name = `tracebloc-v${version}-abc1234-${process.platform}-${process.arch}.tar.gz`
  execFileSync('tar', ['-czf', path.join(outDir, name), '-C', tree, 'tracebloc'])
  return name
}

/** install.sh's layout: <prefix>/lib/tracebloc and <prefix>/bin/tracebloc → lib/tracebloc/bin/tracebloc. */
export function installScriptLayout(prefix: string, version: string): {bin: string; lib: string} {
  const lib = path.join(prefix, 'lib', 'tracebloc')
  tarballTree(lib, version)
  mkdirSync(path.join(prefix, 'bin'), {recursive: true})
  const bin = path.join(prefix, 'bin', 'tracebloc')
  symlinkSync(path.join(lib, 'bin', 'tracebloc'), bin)
  return {bin, lib}
}
