// Streaming a container's log (GET pods/<name>/log?follow=true) on node:https, instead of client-node's
// Log: that one pipes a stream it never listens on for errors, so an abort (Ctrl-C) or a connection cut
// mid-stream surfaced as an unhandled 'error' event and a crash. Here every end of the stream — clean
// EOF, a cut, an abort — settles one promise.
import https from 'node:https'

import {ClusterTarget} from './kube.js'

export interface LogStreamOptions {
  namespace: string
  pod: string
  container: string
  follow?: boolean
  timestamps?: boolean
  /** RFC 3339; inclusive. */
  sinceTime?: string
  signal?: AbortSignal
}

/** How a log stream ended: the server closed it ('eof'), the connection broke ('cut'), or we stopped ('aborted'). */
export type LogStreamEnd = 'eof' | 'cut' | 'aborted'

/** A refused log request (pod not found, container not started, forbidden …). */
export class LogRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'LogRequestError'
  }
}

export async function streamPodLog(t: ClusterTarget, o: LogStreamOptions, onChunk: (chunk: Buffer) => void): Promise<LogStreamEnd> {
  const q = new URLSearchParams({container: o.container, follow: String(o.follow ?? true), timestamps: String(o.timestamps ?? true)})
  if (o.sinceTime) q.set('sinceTime', o.sinceTime)
  const url = new URL(`${t.server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/log?${q}`)
  const opts: https.RequestOptions = {method: 'GET', headers: {}}
  await t.kc.applyToHTTPSOptions(opts)
  if (o.signal?.aborted) return 'aborted'
  const mod = url.protocol === 'http:' ? await import('node:http') : https
  return new Promise<LogStreamEnd>((resolve, reject) => {
    let settled = false
    const done = (end: LogStreamEnd | Error) => {
      if (settled) return
      settled = true
      o.signal?.removeEventListener('abort', onAbort)
      if (end instanceof Error) reject(end)
      else resolve(end)
    }
    const req = mod.request(url, opts, (res) => {
      if ((res.statusCode ?? 0) !== 200) {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          if (body.length < 4096) body += d
        })
        res.on('error', () => done(new LogRequestError(res.statusCode ?? 0, `HTTP ${res.statusCode}`)))
        res.on('end', () => {
          let msg = `HTTP ${res.statusCode}`
          try {
            msg = (JSON.parse(body) as {message?: string}).message ?? msg
          } catch {
            // not a Status body
          }
          done(new LogRequestError(res.statusCode ?? 0, msg))
        })
        return
      }
      res.on('data', (d: Buffer) => {
        if (!settled) onChunk(d)
      })
      res.on('end', () => done('eof'))
      res.on('aborted', () => done(o.signal?.aborted ? 'aborted' : 'cut'))
      res.on('error', () => done(o.signal?.aborted ? 'aborted' : 'cut'))
      res.on('close', () => done(o.signal?.aborted ? 'aborted' : res.complete ? 'eof' : 'cut'))
    })
    const onAbort = () => {
      done('aborted')
      req.destroy()
    }
    o.signal?.addEventListener('abort', onAbort, {once: true})
    // a connection that failed before any response: the caller retries it like a cut
    req.on('error', () => done(o.signal?.aborted ? 'aborted' : 'cut'))
    req.end()
  })
}
