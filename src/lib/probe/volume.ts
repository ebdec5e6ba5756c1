// One throwaway pod of the stage image on client-pvc answers four doctor checks at once: the image
// can be pulled and started, the volume's free space (df inside the pod, where the volume is
// mounted), the table locks left on it, and the staged copies. The pod is the stage pod push would
// start (same restricted security context, no ServiceAccount token), removed on every path.
import {ClusterTarget} from '../cluster/kube.js'
import {INGEST_LOCK_PREFIX as LOCK_PREFIX, SHARED_MOUNT, STAGING_ROOT} from '../pvc/paths.js'

export interface VolumeReport {
  totalBytes?: number
  freeBytes?: number
  locks: Array<{table: string; holder?: string; started_at?: string}>
  staged: string[]
  /** The pod started (the image is pullable) but reading the volume failed: why. */
  error?: string
}

const SCRIPT = `df -Pk ${SHARED_MOUNT} | tail -n 1 | awk '{print "DF", $2, $4}'
for l in ${SHARED_MOUNT}/${LOCK_PREFIX}*.lock; do [ -f "$l" ] || continue; printf 'LOCK %s ' "\${l##*/}"; head -c 2000 "$l" | tr -d '\\n'; echo; done
for d in ${STAGING_ROOT}/*/; do [ -d "$d" ] || continue; d=\${d%/}; echo "STAGED \${d##*/}"; done
`

export async function inspectSharedVolume(
  t: ClusterTarget,
  o: {namespace: string; serviceAccount: string; image: string; timeoutMs: number; signal?: AbortSignal},
): Promise<VolumeReport> {
  const {withStagePod} = await import('../pvc/pod.js')
  const pod = {namespace: o.namespace, table: 'doctor', serviceAccount: o.serviceAccount, image: o.image, runId: 'doctor', timeoutMs: o.timeoutMs, signal: o.signal}
  return withStagePod(t, pod, async (p) => {
    try {
      return parseVolumeReport((await p.exec(SCRIPT)).stdout)
    } catch (error) {
      return {locks: [], staged: [], error: (error as Error).message.split('\n')[0]}
    }
  })
}

export function parseVolumeReport(text: string): VolumeReport {
  const out: VolumeReport = {locks: [], staged: []}
  for (const line of text.split('\n')) {
    const df = /^DF (\d+) (\d+)$/.exec(line)
    if (df) {
      out.totalBytes = Number(df[1]) * 1024
      out.freeBytes = Number(df[2]) * 1024
      continue
    }
    const lock = /^LOCK (\S+) ?(.*)$/.exec(line)
    if (lock) {
      const table = lock[1].slice(LOCK_PREFIX.length).replace(/\.lock$/, '')
      let holder: string | undefined
      let started: string | undefined
      try {
        const j = JSON.parse(lock[2]) as {hostname?: string; started_at?: string}
        holder = typeof j.hostname === 'string' ? j.hostname : undefined
        started = typeof j.started_at === 'string' ? j.started_at : undefined
      } catch {
        // an unreadable lock is still a lock
      }
      out.locks.push({table, holder, started_at: started})
      continue
    }
    const staged = /^STAGED (.+)$/.exec(line)
    // work dirs beside the copies (<table>.staging-resume, <table>.old-<hex>) are not copies: a table name has no dot
    if (staged && /^[A-Za-z][A-Za-z0-9_]*$/.test(staged[1])) out.staged.push(staged[1])
  }
  return out
}
