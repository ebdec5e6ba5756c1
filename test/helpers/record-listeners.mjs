// Preload (node --import) for the push tests: each time the process opens an exec into a stage pod
// (the file upload), it appends the local TCP ports it is listening on at that moment to
// $RECORD_LISTENERS_FILE, one line per exec (empty when none). Proves that no port-forward is open
// while files are staged, with no timing involved.
import {appendFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'

const out = process.env.RECORD_LISTENERS_FILE
if (out) {
  const listening = new Set()
  const listen = net.Server.prototype.listen
  net.Server.prototype.listen = function (...args) {
    this.once('listening', () => listening.add(this))
    this.once('close', () => listening.delete(this))
    return listen.apply(this, args)
  }
  const STAGE_EXEC = /\/pods\/tracebloc-stage-[^/]+\/exec\b/
  for (const mod of [http, https]) {
    const request = mod.request
    mod.request = function (...args) {
      const target = args.find((a) => typeof a === 'string' || a instanceof URL || (a && typeof a === 'object' && 'path' in a))
      const p = typeof target === 'string' ? target : target instanceof URL ? target.pathname : target?.path
      if (p && STAGE_EXEC.test(p)) appendFileSync(out, [...listening].map((s) => s.address()?.port).join(',') + '\n')
      return request.apply(this, args)
    }
  }
}
