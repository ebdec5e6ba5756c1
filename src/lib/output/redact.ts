// Secrets (tokens, kubeconfig credentials) must never reach output, logs, errors or files.
// Everything the CLI prints goes through redact(); code that obtains a secret registers it here
// the moment it has it. The patterns below catch the well-known credential shapes even when
// nobody registered them (a kubeconfig that failed to load, a header quoted in a library error).
const secrets = new Set<string>()
const MASK = '[REDACTED]'

export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string') return
  const v = value.trim()
  if (v.length >= 8) secrets.add(v)
}

// Every pattern is linear: character classes with fixed delimiters, no nested quantifiers.
const PATTERNS: Array<[RegExp, string]> = [
  // PEM private keys, whole or cut off (an error may quote the start of one)
  [/-----BEGIN[A-Z ]{0,40} PRIVATE KEY-----[^-]*(?:-----END[A-Z ]{0,40} PRIVATE KEY-----)?/g, MASK],
  // base64 of a PEM block (kubeconfig client-key-data / client-certificate-data): "-----BEGIN" encodes as LS0tLS1CRUdJTi
  [/LS0tLS1CRUdJTi[A-Za-z0-9+/=]*/g, MASK],
  // Authorization headers: Bearer (static, JWT or opaque tokens) and Basic (base64 user:password)
  [/\b([Bb]earer\s+)[A-Za-z0-9._~+/=-]{8,}/g, `$1${MASK}`],
  // (the lookahead wants a digit, + / or =, so prose such as "Basic authentication" stays readable)
  [/\b(Basic\s+)(?=[A-Za-z]*[0-9+/=])[A-Za-z0-9+/]{6,}={0,2}/g, `$1${MASK}`],
  // JWTs (ServiceAccount and OIDC tokens)
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, MASK],
  // EKS (aws eks get-token) and GKE (OAuth access) tokens
  [/\bk8s-aws-v1\.[A-Za-z0-9_=-]+/g, MASK],
  [/\bya29\.[A-Za-z0-9_.-]+/g, MASK],
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, MASK],
  // user:password@ in URLs (server: https://admin:secret@host)
  [/\b([a-z][a-z0-9+.-]{0,20}:\/\/)[^\s/?#@:'"]+:[^\s/?#@'"]*@/gi, `$1${MASK}@`],
  // presigned URLs (S3, GCS, Azure SAS): the signature and credential query parameters
  [/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|Signature|AWSAccessKeyId|sig)=)[^&\s"'#]+/gi, `$1${MASK}`],
  // a secret-named key and its value, as in a quoted kubeconfig line or a JSON dump
  [
    /(["']?\b(?:token|password|passwd|secret|client-secret|client-key-data|client-certificate-data|id-token|refresh-token|access-token|access_token|refresh_token|id_token)["']?\s*[:=]\s*)("[^"\n]*"|'[^'\n]*'|[^\s,{}[\]"']+)/gi,
    `$1${MASK}`,
  ],
  // a presigned URL's signing parameter standing on its own (S3 SigV4, GCS V4)
  [/\b(X-(?:Amz|Goog)-(?:Signature|Credential|Security-Token)=)[^&\s"'<>]+/gi, `$1${MASK}`],
]

const SIGNING_PARAM = /X-(?:Amz|Goog)-(?:Signature|Credential|Security-Token)=/i

export function redact(text: string): string {
  let out = text
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK)
  // Presigned URLs are bearer credentials: drop the whole query string of any URL that carries a
  // signing parameter (token by token, not one regex over the text: linear on any input).
  if (SIGNING_PARAM.test(out)) {
    out = out.replace(/[^\s"'<>]+/g, (tok) => {
      const q = tok.indexOf('?')
      return q >= 0 && SIGNING_PARAM.test(tok) ? `${tok.slice(0, q)}?${MASK}` : tok
    })
  }
  for (const [re, to] of PATTERNS) out = out.replace(re, to)
  // a value already masked by the key pattern keeps exactly one marker
  return out.replaceAll(`${MASK}${MASK}`, MASK)
}
