// Secrets (tokens, kubeconfig credentials) must never reach output, logs, errors or files.
// Everything the CLI prints goes through redact(); code that obtains a secret registers it here
// the moment it has it.
const secrets = new Set<string>()

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 8) secrets.add(value)
}

export function redact(text: string): string {
  let out = text
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]')
  // Bearer headers and JWT-shaped strings are redacted even when not registered.
  out = out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g, '$1[REDACTED]')
  out = out.replace(/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g, '[REDACTED]')
  return out
}
