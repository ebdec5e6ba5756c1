// `kubectl port-forward pod/<pod> :8080` against a sandbox API server, for the tests that drive kubectl's
// own port-forward (SPDY in a WebSocket tunnel, or plain SPDY): the process and the local port it chose.
import {spawn, type ChildProcess} from 'node:child_process'

/** Starts kubectl and resolves once it prints its local port; the caller kills the child. */
export async function kubectlPortForward(o: {kubectl: string; kubeconfig: string; home: string; env?: Record<string, string>; pod?: string}): Promise<{child: ChildProcess; port: number}> {
  const child = spawn(o.kubectl, ['--kubeconfig', o.kubeconfig, 'port-forward', `pod/${o.pod ?? 'p1'}`, ':8080'], {env: {PATH: process.env.PATH, HOME: o.home, ...o.env}})
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = ''
      child.stdout.on('data', (d) => {
        buf += d
        const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(buf)
        if (m) resolve(Number(m[1]))
      })
      child.on('close', (c) => reject(new Error(`port-forward exited ${c}`)))
    })
    return {child, port}
  } catch (error) {
    child.kill()
    throw error
  }
}
