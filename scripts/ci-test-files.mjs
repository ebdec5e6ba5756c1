// Prints the test files CI runs on this OS, one per line (used by .github/workflows/ci.yml as
// `npm test -- $(node scripts/ci-test-files.mjs)`).
// Linux: every test/**/*.test.ts. macOS and Windows: all except the files that start the sandbox
// cluster — those importing test/sandbox/index.js or test/sandbox/kubelet/ — because its kubelet
// runs pods under bubblewrap (Linux namespaces) on a busybox filesystem, which those OSes lack.
// Sandbox parts that need no pods (apiserver store, ingestor logic) still run everywhere.
// Each skipped file is named on stderr with that reason.
import {globSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const files = globSync('test/**/*.test.ts', {cwd: root}).map((f) => f.split(path.sep).join('/')).sort()
// push-cli.js hands out a sandbox per test file (sandboxPerFile), so its importers start the kubelet too.
const POD_RUNTIME = ['test/sandbox/index.js', 'test/sandbox/kubelet/', 'test/e2e/push-cli.js']
const needsSandbox = (f) => {
  const src = readFileSync(path.join(root, f), 'utf8')
  const specs = [...src.matchAll(/from\s+['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => path.posix.join(path.posix.dirname(f), m[1]))
  return specs.some((s) => POD_RUNTIME.some((p) => (p.endsWith('/') ? s.startsWith(p) : s === p)))
}

const keep = []
for (const f of files) {
  if (process.platform !== 'linux' && needsSandbox(f)) {
    console.error(`skipped on ${process.platform}: ${f} (starts the sandbox kubelet: bubblewrap + busybox, Linux only)`)
  } else keep.push(f)
}
process.stdout.write(keep.join('\n') + '\n')
