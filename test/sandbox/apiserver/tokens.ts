// ServiceAccount tokens as kube-apiserver issues them: RS256 JWTs with the kubernetes.io claims.
import {createHash, createSign, createVerify, generateKeyPairSync, randomUUID, type KeyObject} from 'node:crypto'

export const ISSUER = 'https://kubernetes.default.svc.cluster.local'

export interface SaClaims {
  iss: string
  sub: string
  aud: string[]
  exp: number
  iat: number
  nbf: number
  jti: string
  'kubernetes.io': {
    namespace: string
    serviceaccount: {name: string; uid: string}
    pod?: {name: string; uid: string}
    secret?: {name: string; uid: string}
  }
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url')

export class TokenIssuer {
  private readonly privateKey: KeyObject
  private readonly publicKey: KeyObject
  private readonly kid: string

  constructor() {
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    this.privateKey = privateKey
    this.publicKey = publicKey
    this.kid = createHash('sha256').update(publicKey.export({type: 'spki', format: 'der'})).digest('base64url')
  }

  issue(claims: Omit<SaClaims, 'iss' | 'jti' | 'iat' | 'nbf'> & {iat?: number}): string {
    const now = claims.iat ?? Math.floor(Date.now() / 1000)
    const full: SaClaims = {iss: ISSUER, jti: randomUUID(), ...claims, iat: now, nbf: now}
    const head = b64url(JSON.stringify({alg: 'RS256', kid: this.kid}))
    const body = b64url(JSON.stringify(full))
    const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(this.privateKey)
    return `${head}.${body}.${b64url(sig)}`
  }

  /** Returns the claims, or an error string as TokenReview's status.error puts it. */
  verify(token: string, audiences?: string[]): {claims: SaClaims} | {error: string} {
    const parts = token.split('.')
    if (parts.length !== 3) return {error: 'invalid bearer token'}
    const [head, body, sig] = parts
    const ok = createVerify('RSA-SHA256').update(`${head}.${body}`).verify(this.publicKey, Buffer.from(sig, 'base64url'))
    if (!ok) return {error: '[invalid bearer token, square/go-jose: error in cryptographic primitive]'}
    let claims: SaClaims
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
    } catch {
      return {error: 'invalid bearer token'}
    }
    if (claims.iss !== ISSUER) return {error: 'invalid bearer token, token issuer is not recognized'}
    if (Math.floor(Date.now() / 1000) >= claims.exp) return {error: '[invalid bearer token, service account token has expired]'}
    if (audiences && audiences.length > 0 && !audiences.some((a) => claims.aud.includes(a))) return {error: '[invalid bearer token, token audiences ["' + claims.aud.join('","') + '"] is invalid for the target audiences ["' + audiences.join('","') + '"]]'}
    return {claims}
  }
}
