// Set-up for the README's commands (`npm run demo`, `npm test`) and .ci/run on a machine that has
// only some Node and npm. It must parse and run on old Node (CommonJS, no API newer than Node 12):
//   - when the running Node is older than package.json's engines, bring the pinned Node from the
//     npm registry into .node/ (the `node` package) and re-run the calling script with it;
//   - when the dependencies are missing, `npm ci` them.
// Each step prints one line saying what it does. CLI: `node scripts/bootstrap.cjs node-bin`
// installs the pinned Node into .node/ (whatever runs now) and prints its bin directory (.ci/run).
'use strict'
const {spawn, spawnSync} = require('child_process')
const fs = require('fs')
const path = require('path')

// The Node fetched into .node/ (also what CI runs).
const PINNED_NODE = '24.21.0'
const root = path.resolve(__dirname, '..')
const nodeDir = path.join(root, '.node')
const nodeBin = process.platform === 'win32' ? path.join(nodeDir, 'node_modules', 'node', 'bin', 'node.exe') : path.join(nodeDir, 'node_modules', 'node', 'bin', 'node')

function parseVersion(v) {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(String(v))
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0]
}

function atLeast(have, need) {
  for (let i = 0; i < 3; i++) if (have[i] !== need[i]) return have[i] > need[i]
  return true
}

/** The minimum Node in package.json's engines (`>=X.Y.Z`). */
function requiredNode() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  return parseVersion((pkg.engines && pkg.engines.node) || '0.0.0')
}

function say(line) {
  process.stderr.write('setup: ' + line + '\n')
}

/** npm of the Node that runs this script when started through `npm run`, else the npm on PATH. */
function npmCommand() {
  const cli = process.env.npm_execpath
  if (cli && /\.c?js$/.test(cli) && fs.existsSync(cli)) return {cmd: process.execPath, pre: [cli]}
  return {cmd: process.platform === 'win32' ? 'npm.cmd' : 'npm', pre: []}
}

function runNpm(args, cwd, quiet) {
  const npm = npmCommand()
  const res = spawnSync(npm.cmd, npm.pre.concat(args), {cwd: cwd, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', shell: process.platform === 'win32'})
  if (res.status !== 0) {
    say('`npm ' + args.join(' ') + '` failed' + (res.error ? ': ' + res.error.message : '') + '; fix that and run the command again')
    process.exit(1)
  }
}

function pinnedNodeInstalled() {
  if (!fs.existsSync(nodeBin)) return false
  const res = spawnSync(nodeBin, ['-v'], {encoding: 'utf8'})
  return res.status === 0 && res.stdout.trim() === 'v' + PINNED_NODE
}

/** Installs the pinned Node into .node/ (once); returns true when it was fetched now. */
function ensurePinnedNode() {
  if (pinnedNodeInstalled()) return false
  fs.mkdirSync(nodeDir, {recursive: true})
  fs.writeFileSync(path.join(nodeDir, 'package.json'), '{"private":true}\n')
  runNpm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', 'node@' + PINNED_NODE], nodeDir, true)
  if (!pinnedNodeInstalled()) {
    say('Node ' + PINNED_NODE + ' from the npm registry does not run here; install Node >= ' + requiredNode().join('.') + ' from https://nodejs.org and run the command again')
    process.exit(1)
  }
  return true
}

/** Re-runs this process's script with `node` (same args, stdio, signals); exits with its code. */
function reexec(node) {
  const env = Object.assign({}, process.env)
  const binDir = path.dirname(node)
  env.PATH = binDir + path.delimiter + (env.PATH || env.Path || '')
  // npm started through `npm run` points these at the old Node; let the child's npm find its own.
  delete env.npm_node_execpath
  delete env.NODE
  const child = spawn(node, process.execArgv.concat(process.argv.slice(1)), {stdio: 'inherit', env: env})
  // The child shares the terminal (Ctrl-C reaches it directly); forward what is sent to us alone.
  const forward = function (sig) {
    process.on(sig, function () {
      try {
        child.kill(sig)
      } catch {
        // already gone
      }
    })
  }
  ;['SIGINT', 'SIGTERM', 'SIGHUP'].forEach(forward)
  child.on('error', function (err) {
    say('cannot start ' + node + ': ' + err.message)
    process.exit(1)
  })
  child.on('exit', function (code, signal) {
    process.exit(code === null ? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15) : code)
  })
}

function depsInstalled() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const names = Object.keys(Object.assign({}, pkg.dependencies, pkg.devDependencies))
  for (let i = 0; i < names.length; i++) {
    if (!fs.existsSync(path.join(root, 'node_modules', names[i], 'package.json'))) return false
  }
  return true
}

/**
 * Call first in a script's entry: resolves true when this process should go on, or false when
 * the script is re-running under a newer Node (this process then only waits for it and exits).
 */
function ensureReady() {
  const need = requiredNode()
  const have = parseVersion(process.versions.node)
  if (!atLeast(have, need)) {
    const fetched = ensurePinnedNode()
    say('Node v' + have.join('.') + ' is older than this project needs (>= ' + need.join('.') + '); ' + (fetched ? 'fetched' : 'using') + ' Node v' + PINNED_NODE + ' from the npm registry in .node/ and running with it')
    reexec(nodeBin)
    return false
  }
  if (!depsInstalled()) {
    say('installing the dependencies (npm ci)')
    runNpm(['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], root, false)
  }
  return true
}

module.exports = {ensureReady: ensureReady, PINNED_NODE: PINNED_NODE}

if (require.main === module) {
  if (process.argv[2] === 'node-bin') {
    ensurePinnedNode()
    process.stdout.write(path.dirname(nodeBin) + '\n')
  } else {
    process.stderr.write('usage: node scripts/bootstrap.cjs node-bin\n')
    process.exit(2)
  }
}
