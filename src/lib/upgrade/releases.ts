// Where new versions are announced: the npm registry (dist-tags) for npm installs, and the GitHub
// release's SHA256SUMS (every artifact of a release, its version in the names) for the others.
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'

import {CliError, ExitCode} from '../output/errors.js'
import {trimChar} from '../output/format.js'
import {compareVersions, isVersion} from './version.js'

export const PACKAGE_NAME = '@tracebloc/cli'
const DEFAULT_RELEASES = 'https://github.com/tracebloc/cli/releases'

/** The releases page: `<url>/latest/download/<file>`, `<url>/download/v<version>/<file>` (a mirror keeps that layout). */
export function releasesUrl(env: NodeJS.ProcessEnv = process.env): string {
  return trimChar(env.TRACEBLOC_RELEASES_URL || DEFAULT_RELEASES, '/', 'end')
}

export function releaseDir(url: string, version?: string): string {
  return version ? `${url}/download/v${version}` : `${url}/latest/download`
}

/** The registry npm itself would use: npm_config_registry, else `registry=` in ~/.npmrc, else npmjs. */
export function npmRegistry(env: NodeJS.ProcessEnv = process.env): string {
  let reg = env.TRACEBLOC_NPM_REGISTRY || env.npm_config_registry || env.NPM_CONFIG_REGISTRY
  if (!reg) {
    try {
      reg = /^\s*registry\s*=\s*(\S+)/m.exec(readFileSync(path.join(homedir(), '.npmrc'), 'utf8'))?.[1]
    } catch {
      // no ~/.npmrc: the default registry
    }
  }
  return trimChar(reg || 'https://registry.npmjs.org', '/', 'end')
}

function transport(what: string, cause: unknown): CliError {
  const detail = (cause as {cause?: {code?: string; message?: string}})?.cause
  return new CliError(`could not download ${what}: ${detail?.code ?? detail?.message ?? (cause as Error).message}`, {
    exitCode: ExitCode.SUBMIT,
    reason: 'download_failed',
    hint: 'check your network (or TRACEBLOC_RELEASES_URL / your npm registry) and try again; nothing was changed',
    cause,
  })
}

export async function fetchOk(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, {headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow'})
  } catch (error) {
    throw transport(url, error)
  }
  if (!res.ok) {
    await res.body?.cancel()
    throw new CliError(`could not download ${url}: HTTP ${res.status}`, {
      exitCode: ExitCode.SUBMIT,
      reason: res.status === 404 ? 'release_not_found' : 'download_failed',
      hint: res.status === 404 ? 'check the version (`tracebloc upgrade --check` shows the latest)' : 'try again later; nothing was changed',
    })
  }
  return res
}

export async function fetchText(url: string, timeoutMs: number): Promise<string> {
  const res = await fetchOk(url, timeoutMs)
  try {
    return await res.text()
  } catch (error) {
    throw transport(url, error)
  }
}

export interface NpmVersions {
  latest: string
  versions: string[]
}

export async function npmVersions(registry: string, timeoutMs: number): Promise<NpmVersions> {
  const url = `${registry}/${PACKAGE_NAME.replace('/', '%2f')}`
  const res = await fetchOk(url, timeoutMs, {accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8'})
  let doc: {'dist-tags'?: {latest?: unknown}; versions?: Record<string, unknown>}
  try {
    doc = (await res.json()) as typeof doc
  } catch (error) {
    throw transport(url, error)
  }
  const latest = doc['dist-tags']?.latest
  if (typeof latest !== 'string' || !isVersion(latest)) throw new CliError(`${url} names no latest version`, {exitCode: ExitCode.SUBMIT, reason: 'download_failed'})
  return {latest, versions: Object.keys(doc.versions ?? {})}
}

export interface SumsEntry {
  sha256: string
  file: string
}

/** `sha256sum` output: `<64 hex>  <name>` (or ` *<name>` in binary mode). */
export function parseSums(text: string): SumsEntry[] {
  const out: SumsEntry[] = []
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](\S.*)$/.exec(line.trimEnd())
    if (m) out.push({sha256: m[1]!, file: m[2]!})
  }
  return out
}

/** The release's version, from its npm package or tarball names. */
export function sumsVersion(entries: SumsEntry[]): string | undefined {
  const found = new Set<string>()
  for (const {file} of entries) {
    const m = /^tracebloc-cli-(.+)\.tgz$/.exec(file) ?? /^tracebloc-v(.+)-[0-9a-f]{7,40}-[a-z0-9]+-[a-z0-9]+\.tar\.gz$/.exec(file)
    if (m && isVersion(m[1]!)) found.add(m[1]!)
  }
  return [...found].sort(compareVersions).at(-1)
}

/** The tarball for this platform in a release's SHA256SUMS. */
export function tarballEntry(entries: SumsEntry[], version: string, target = `${process.platform}-${process.arch}`): SumsEntry | undefined {
  const esc = version.replaceAll('.', '\\.')
  return entries.find((e) => new RegExp(`^tracebloc-v${esc}-[0-9a-f]{7,40}-${target}\\.tar\\.gz$`).test(e.file))
}
