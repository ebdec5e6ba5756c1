// Port-forward to a pod over the WebSocket channel protocol (one WebSocket per TCP connection),
// exposed as a loopback listener so plain `fetch` can talk HTTP to jobs-manager.
import net from 'node:net'
import WebSocket from 'ws'

import {ClusterTarget} from './kube.js'
import {onUpgradeRefused, wsOptions, wsUrl} from './exec.js'

export interface PortForward {
  /** http://127.0.0.1:<local port> */
  baseUrl: string
  close(): Promise<void>
}

export async function openPortForward(t: ClusterTarget, namespace: string, pod: string, port: number): Promise<PortForward> {
  const opts = await wsOptions(t)
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${port}`
  const sockets = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    // The HTTP client sees the failure as a reset connection; the socket must not crash the process.
    sock.on('error', () => undefined)
    sock.pause()
    const ws = new WebSocket(wsUrl(t, path), ['v4.channel.k8s.io'], opts)
    const seenPrefix = [false, false]
    onUpgradeRefused(ws, (e) => sock.destroy(e))
    ws.on('error', (e) => sock.destroy(e))
    ws.on('close', () => sock.destroy())
    sock.on('close', () => ws.readyState === WebSocket.OPEN && ws.close())
    ws.on('open', () => {
      sock.on('data', (d: Buffer) => {
        if (ws.readyState !== WebSocket.OPEN) return
        ws.send(Buffer.concat([Buffer.from([0]), d]))
      })
      sock.resume()
    })
    ws.on('message', (data: Buffer) => {
      const ch = data[0]
      let payload = data.subarray(1)
      if (ch > 1) return
      // The first frame on each channel carries the port number (uint16 LE); strip it.
      if (!seenPrefix[ch]) {
        seenPrefix[ch] = true
        payload = payload.subarray(2)
      }
      if (payload.length === 0) return
      if (ch === 0) sock.write(payload)
      else sock.destroy(new Error(`port-forward error: ${payload.toString('utf8').trim()}`))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port: local} = server.address() as net.AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${local}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
