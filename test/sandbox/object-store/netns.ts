// The pod network for pods that must reach the object store: one network namespace with a veth pair
// (/30, no default route), so a pod in it reaches exactly one address: the host end, where the store
// listens. Pods outside it keep no network at all. Needs root and iproute2 (Linux); the caller falls
// back to "no pod network" when it cannot be made. Names and subnet are random: several sandboxes may
// run on one machine at once.
import {execFileSync} from 'node:child_process'
import {randomBytes, randomInt} from 'node:crypto'

export interface PodNetwork {
  netns: string
  /** The host end: the only address a pod in the namespace can reach. */
  hostIp: string
  podIp: string
  remove(): void
}

const ip = (...args: string[]) => execFileSync('ip', args, {stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8'})

export function canMakePodNetwork(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  try {
    ip('netns', 'list')
    return true
  } catch {
    return false
  }
}

/** Namespaces of sandboxes whose process died without cleaning up (SIGKILL, a test-runner timeout). */
function removeOrphans(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const m = /^(tbsb-(\d+)-[0-9a-f]+)/.exec(line)
    if (!m) continue
    try {
      process.kill(Number(m[2]), 0)
      continue // its sandbox still runs
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPERM') continue
    }
    try {
      ip('netns', 'del', m[1]) // the veth pair goes with its end inside
    } catch {
      // another sandbox got there first
    }
  }
}

export function createPodNetwork(): PodNetwork {
  removeOrphans()
  const id = randomBytes(4).toString('hex')
  // the owner's pid in the name lets a later sandbox remove it if this process dies uncleanly
  const netns = `tbsb-${process.pid}-${id}`
  const hostIf = `tbh${id}`
  const podIf = `tbp${id}`
  const used = ip('-o', '-4', 'addr', 'show')
  let base = ''
  for (let i = 0; i < 20 && !base; i++) {
    const b = `10.${randomInt(200, 240)}.${randomInt(0, 256)}.${randomInt(0, 64) * 4}`
    if (!used.includes(` ${b.split('.').slice(0, 3).join('.')}.`)) base = b
  }
  if (!base) throw new Error('no free 10.200-239.x.y/30 for the sandbox pod network')
  const octets = base.split('.').map(Number)
  const hostIp = [...octets.slice(0, 3), octets[3] + 1].join('.')
  const podIp = [...octets.slice(0, 3), octets[3] + 2].join('.')
  let made = false
  const remove = () => {
    // deleting one end of a veth deletes both; each step on its own so a half-made network goes too
    for (const args of [['link', 'del', hostIf], ['netns', 'del', netns]]) {
      try {
        ip(...args)
      } catch {
        // already gone
      }
    }
  }
  try {
    ip('netns', 'add', netns)
    made = true
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', podIf)
    ip('link', 'set', podIf, 'netns', netns)
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf)
    ip('link', 'set', hostIf, 'up')
    ip('-n', netns, 'addr', 'add', `${podIp}/30`, 'dev', podIf)
    ip('-n', netns, 'link', 'set', podIf, 'up')
    ip('-n', netns, 'link', 'set', 'lo', 'up')
  } catch (e) {
    if (made) remove()
    throw e
  }
  return {netns, hostIp, podIp, remove}
}
