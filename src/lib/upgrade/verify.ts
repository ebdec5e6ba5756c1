// Trust for a release: SHA256SUMS must carry a valid signature before any hash in it is believed.
//   1. SHA256SUMS.sig: a base64 Ed25519 signature over SHA256SUMS by a release key (trusted keys:
//      RELEASE_KEYS below, plus the PEM file named by TRACEBLOC_UPGRADE_TRUSTED_KEY for a mirror or
//      a test release; docs/install.md says how a release key is made and rotated).
//   2. Otherwise SHA256SUMS.sigstore.json, the release workflow's cosign keyless signature, checked by
//      `cosign verify-blob` when cosign is installed (the same identity as install.sh pins).
//   3. Neither: refuse, unless the user opts out with --skip-signature (the sha256 is still checked).
import {execFile} from 'node:child_process'
import {createHash, createPublicKey, verify as verifySig} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {CliError, ExitCode} from '../output/errors.js'
import {fetchOk} from './releases.js'

/** Release signing public keys (PEM, Ed25519). Empty until the release workflow has a signing key. */
export const RELEASE_KEYS: readonly string[] = []

const CERT_IDENTITY_REGEXP = String.raw`^https://github\.com/tracebloc/cli/\.github/workflows/release\.yml@refs/tags/v`
const CERT_OIDC_ISSUER = 'https://token.actions.githubusercontent.com'

export function trustedKeys(env: NodeJS.ProcessEnv = process.env): string[] {
  const keys = [...RELEASE_KEYS]
  const file = env.TRACEBLOC_UPGRADE_TRUSTED_KEY
  if (file) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new CliError(`cannot read TRACEBLOC_UPGRADE_TRUSTED_KEY (${file}): ${(error as NodeJS.ErrnoException).code}`, {exitCode: ExitCode.LOCAL_ENV, reason: 'bad_trusted_key'})
    }
    keys.push(...pemBlocks(text, 'PUBLIC KEY'))
  }
  return keys
}

/** The `-----BEGIN <label>----- … -----END <label>-----` blocks of a text, found by scanning (no backtracking). */
export function pemBlocks(text: string, label: string): string[] {
  const begin = `-----BEGIN ${label}-----`
  const end = `-----END ${label}-----`
  const out: string[] = []
  for (let at = text.indexOf(begin); at >= 0; ) {
    const stop = text.indexOf(end, at + begin.length + 1)
    if (stop < 0) break
    // a BEGIN again before this END starts the block anew (the broken one before it is dropped)
    const restart = text.lastIndexOf(begin, stop)
    out.push(text.slice(restart, stop + end.length))
    at = text.indexOf(begin, stop + end.length)
  }
  return out
}

export function ed25519Valid(data: Buffer, signatureB64: string, keys: string[]): boolean {
  const sig = Buffer.from(signatureB64.trim(), 'base64')
  if (sig.length !== 64) return false
  return keys.some((pem) => {
    try {
      return verifySig(null, data, createPublicKey(pem), sig)
    } catch {
      return false
    }
  })
}

function tampered(what: string): CliError {
  return new CliError(`SIGNATURE VERIFICATION FAILED for ${what}`, {
    exitCode: ExitCode.SUBMIT,
    reason: 'signature_invalid',
    hint: 'the release may have been tampered with (or the mirror is wrong); nothing was changed',
  })
}

async function optional(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    return await (await fetchOk(url, timeoutMs)).text()
  } catch (error) {
    if ((error as CliError).reason === 'release_not_found') return undefined
    throw error
  }
}

function cosignVerify(sums: Buffer, bundle: string): Promise<{ok: boolean; output: string} | undefined> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tracebloc-cosign-'))
  writeFileSync(path.join(dir, 'SHA256SUMS'), sums)
  writeFileSync(path.join(dir, 'bundle.json'), bundle)
  const args = ['verify-blob', '--bundle', path.join(dir, 'bundle.json'), '--certificate-identity-regexp', CERT_IDENTITY_REGEXP, '--certificate-oidc-issuer', CERT_OIDC_ISSUER, path.join(dir, 'SHA256SUMS')]
  return new Promise((resolve) => {
    execFile('cosign', args, {timeout: 60_000}, (error, stdout, stderr) => {
      rmSync(dir, {recursive: true, force: true})
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve(undefined)
      else resolve({ok: !error, output: `${stdout}${stderr}`.trim()})
    })
  })
}

export type SignatureMethod = 'ed25519' | 'cosign' | 'skipped'

export async function verifySums(sums: Buffer, dir: string, opts: {skipSignature?: boolean; timeoutMs: number; env?: NodeJS.ProcessEnv}): Promise<SignatureMethod> {
  const keys = trustedKeys(opts.env)
  const sig = await optional(`${dir}/SHA256SUMS.sig`, opts.timeoutMs)
  if (sig !== undefined && keys.length > 0) {
    if (!ed25519Valid(sums, sig, keys)) throw tampered(`${dir}/SHA256SUMS (SHA256SUMS.sig)`)
    return 'ed25519'
  }
  const bundle = await optional(`${dir}/SHA256SUMS.sigstore.json`, opts.timeoutMs)
  if (bundle !== undefined) {
    const r = await cosignVerify(sums, bundle)
    if (r && !r.ok) throw tampered(`${dir}/SHA256SUMS (cosign: ${r.output.split('\n').at(-1)})`)
    if (r?.ok) return 'cosign'
  }
  if (opts.skipSignature) return 'skipped'
  throw new CliError('cannot verify the release signature', {
    exitCode: ExitCode.LOCAL_ENV,
    reason: 'signature_unverifiable',
    hint:
      sig === undefined && bundle === undefined
        ? 'the release has no SHA256SUMS.sig or SHA256SUMS.sigstore.json; refusing to install unsigned files (--skip-signature accepts them)'
        : 'install cosign (https://docs.sigstore.dev/cosign/system_config/installation/) and run it again, or accept checksum-only verification with --skip-signature',
  })
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}
