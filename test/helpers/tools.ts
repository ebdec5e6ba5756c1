// The outside programs some tests drive, found by PATH (never a fixed path of one machine's image).
// `npm test` puts the tools it installed (scripts/test-tools.mjs) on PATH first.
import {spawnSync} from 'node:child_process'
import {accessSync, constants} from 'node:fs'
import path from 'node:path'

/** The first executable `name` in a PATH directory, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const p = path.join(dir, name)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return undefined
}

/** kubectl's client minor version, or undefined when it does not run. */
function kubectlMinor(bin: string): number | undefined {
  const r = spawnSync(bin, ['version', '--client', '-o', 'json'], {encoding: 'utf8', timeout: 30_000})
  if (r.status !== 0) return undefined
  try {
    return Number.parseInt(JSON.parse(r.stdout).clientVersion.minor, 10)
  } catch {
    return undefined
  }
}

/** The kubectl the conformance and link tests need (1.32 or later: WebSocket exec and port-forward by default). */
export const KUBECTL_MIN_MINOR = 32
export function findKubectl(): {bin: string} | {skip: string} {
  // a versioned binary beside a dispatcher first (some images ship kubectl.1.NN next to kubectl)
  for (const name of [`kubectl.1.${KUBECTL_MIN_MINOR}`, 'kubectl']) {
    const bin = onPath(name)
    if (!bin) continue
    const minor = kubectlMinor(bin)
    if (minor !== undefined && minor >= KUBECTL_MIN_MINOR) return {bin}
  }
  return {skip: `no kubectl 1.${KUBECTL_MIN_MINOR}+ on PATH (npm test installs one on linux-x64: scripts/test-tools.mjs)`}
}
