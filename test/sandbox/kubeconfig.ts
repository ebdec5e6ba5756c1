// Writes a kubeconfig for the sandbox API server: one cluster (certificate-authority-data), one
// user per bearer token and one context per user, all defaulting to the release namespace.
// The file is written mode 0600: it holds credentials.
import {writeFileSync} from 'node:fs'

export interface KubeconfigInput {
  url: string
  /** base64 of the CA PEM */
  caData: string
  tokens: Record<string, string>
  namespace: string
  defaultUser?: string
}

/** Context name per user: admin → `sandbox`, others → `sandbox-<user>`. */
export const contextFor = (user: string): string => (user === 'admin' ? 'sandbox' : `sandbox-${user}`)

export function kubeconfigYaml(input: KubeconfigInput): string {
  const users = Object.keys(input.tokens)
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{name: 'sandbox', cluster: {server: input.url, 'certificate-authority-data': input.caData}}],
    users: users.map((u) => ({name: u, user: {token: input.tokens[u]}})),
    contexts: users.map((u) => ({name: contextFor(u), context: {cluster: 'sandbox', user: u, namespace: input.namespace}})),
    'current-context': contextFor(input.defaultUser ?? 'admin'),
  }
  // JSON is YAML: kubectl and client-node read it as a kubeconfig.
  return JSON.stringify(doc, null, 2) + '\n'
}

export function writeKubeconfig(file: string, input: KubeconfigInput): void {
  writeFileSync(file, kubeconfigYaml(input), {mode: 0o600})
}
