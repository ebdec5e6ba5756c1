// Ed25519 signature of a release's SHA256SUMS, checked by `tracebloc upgrade` before it believes any
// hash in it (src/lib/upgrade/verify.ts). Writes SHA256SUMS.sig (base64, 64 bytes) next to the file.
//   node scripts/release/sign-sums.mjs --sums release/SHA256SUMS      key: $TRACEBLOC_RELEASE_SIGNING_KEY (PEM)
//   node scripts/release/sign-sums.mjs --sums SHA256SUMS --key private.pem
//   node scripts/release/sign-sums.mjs --generate-key DIR             writes DIR/private.pem, DIR/public.pem
// Without a key (no secret configured) it prints a warning and signs nothing; the release then carries
// only the cosign bundle.
import {createPrivateKey, generateKeyPairSync, sign} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseOptions} from './cli-args.mjs'

export function signSums(sumsFile, privatePem) {
  const sig = sign(null, readFileSync(sumsFile), createPrivateKey(privatePem)).toString('base64')
  writeFileSync(`${sumsFile}.sig`, sig + '\n')
  return `${sumsFile}.sig`
}

export function generateKey(dir) {
  mkdirSync(dir, {recursive: true})
  const {privateKey, publicKey} = generateKeyPairSync('ed25519')
  writeFileSync(path.join(dir, 'private.pem'), privateKey.export({type: 'pkcs8', format: 'pem'}), {mode: 0o600})
  writeFileSync(path.join(dir, 'public.pem'), publicKey.export({type: 'spki', format: 'pem'}))
  return {privateFile: path.join(dir, 'private.pem'), publicFile: path.join(dir, 'public.pem')}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const values = parseOptions('sign-sums', {sums: {type: 'string'}, key: {type: 'string'}, 'generate-key': {type: 'string'}}, 'sign-sums.mjs --sums <SHA256SUMS> [--key <private.pem>] | --generate-key <dir>')
  try {
    if (values['generate-key']) {
      const {privateFile, publicFile} = generateKey(values['generate-key'])
      console.log(`wrote ${privateFile} (store it as the TRACEBLOC_RELEASE_SIGNING_KEY secret, then delete it) and ${publicFile} (add it to RELEASE_KEYS in src/lib/upgrade/verify.ts)`)
    } else {
      if (!values.sums) {
        console.error('sign-sums: --sums <SHA256SUMS file> is required')
        console.error('usage: sign-sums.mjs --sums <SHA256SUMS> [--key <private.pem>] | --generate-key <dir>')
        process.exit(2)
      }
      const pem = values.key ? readFileSync(values.key, 'utf8') : process.env.TRACEBLOC_RELEASE_SIGNING_KEY
      if (!pem) console.log('::warning::no release signing key (TRACEBLOC_RELEASE_SIGNING_KEY): SHA256SUMS.sig not written')
      else console.log(`wrote ${signSums(values.sums, pem)}`)
    }
  } catch (error) {
    console.error(`sign-sums: ${error.message}`)
    process.exit(1)
  }
}
