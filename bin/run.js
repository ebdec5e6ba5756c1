#!/usr/bin/env node
// Production entry point. No static imports: the Node version guard must run before anything
// loads, since on an older Node the dependencies fail with unrelated stack traces.
// REQUIRED_NODE equals package.json engines.node (test/unit/entry.test.ts checks).
const REQUIRED_NODE = [22, 19, 0]
const found = process.versions.node.split('.').map(Number)
const tooOld = found[0] !== REQUIRED_NODE[0] ? found[0] < REQUIRED_NODE[0] : found[1] < REQUIRED_NODE[1]
if (tooOld) {
  // A checkout where `npm run demo` / `npm test` fetched the pinned Node into .node/: run on that one,
  // same arguments, stdio and exit code (the fast paths below then run in it).
  const {existsSync} = await import('node:fs')
  const {fileURLToPath} = await import('node:url')
  const pinned = fileURLToPath(new URL(process.platform === 'win32' ? '../.node/node_modules/node/bin/node.exe' : '../.node/node_modules/node/bin/node', import.meta.url))
  if (!process.env.TRACEBLOC_REEXEC && existsSync(pinned)) {
    const {spawn} = await import('node:child_process')
    const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {stdio: 'inherit', env: {...process.env, TRACEBLOC_REEXEC: '1'}})
    // the terminal sends Ctrl-C to both; a signal sent to this process alone is passed on
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => child.kill(s))
    child.on('error', () => process.exit(1))
    child.on('exit', (code, signal) => {
      if (signal) {
        process.removeAllListeners(signal)
        process.kill(process.pid, signal)
      }
      process.exit(code ?? 1)
    })
    await new Promise(() => {})
  }
  process.stderr.write(`Error: tracebloc needs Node.js >= ${REQUIRED_NODE.join('.')}, found ${process.version} (${process.execPath}); ` +
    'install Node.js 22 or 24 LTS (https://nodejs.org or nvm), or the Homebrew / install.sh build that bundles Node (docs/install.md)\n')
  process.exit(1)
}
// A reader that goes away (`tracebloc --help | head -1`) is not an error: stop quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})
// The compile cache trims ~10-20% off cold start on Node >= 22.1.
const {default: module} = await import('node:module')
module.enableCompileCache?.()
// `--version` is the `version` command (like gh), not oclif's one-line user agent.
const argv = process.argv.slice(2)
if (argv[0] === '--version') argv[0] = 'version'
// Fast start: plain `ingest validate …` and `version` are answered without importing oclif
// (src/lib/fast/entry.ts); everything else goes through oclif.
const {runFast} = await import('../dist/lib/fast/entry.js')
if (!(await runFast(argv, new URL('..', import.meta.url)))) {
  const {execute} = await import('@oclif/core')
  await execute({args: argv, dir: import.meta.url})
}
