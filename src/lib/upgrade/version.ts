// Release versions: x.y.z with an optional -prerelease; a prerelease sorts before its release.
const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/

export function isVersion(v: string): boolean {
  return VERSION.test(v)
}

/** <0, 0, >0 as a is older, equal, newer than b (semver precedence, build metadata not used). */
export function compareVersions(a: string, b: string): number {
  const pa = VERSION.exec(a)
  const pb = VERSION.exec(b)
  if (!pa || !pb) return a.localeCompare(b)
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i])
    if (d !== 0) return d
  }
  if (pa[4] === pb[4]) return 0
  if (pa[4] === undefined) return 1
  if (pb[4] === undefined) return -1
  const xa = pa[4].split('.')
  const xb = pb[4].split('.')
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    if (xa[i] === undefined) return -1
    if (xb[i] === undefined) return 1
    const na = /^\d+$/.test(xa[i]!) ? Number(xa[i]) : undefined
    const nb = /^\d+$/.test(xb[i]!) ? Number(xb[i]) : undefined
    if (na !== undefined && nb !== undefined && na !== nb) return na - nb
    if (na !== undefined && nb === undefined) return -1
    if (na === undefined && nb !== undefined) return 1
    const c = xa[i]!.localeCompare(xb[i]!)
    if (c !== 0) return c
  }
  return 0
}

export function normalizeVersion(v: string): string {
  return v.replace(/^v/, '')
}
