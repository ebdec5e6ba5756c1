// Readiness probes as a kubelet runs them: one worker per started container with a readinessProbe.
// The container starts not Ready; the first probe runs initialDelaySeconds after the start, then one
// every periodSeconds (never two at once). A probe that does not answer within timeoutSeconds failed.
// Ready changes only after successThreshold successes in a row (to Ready) or failureThreshold failures in
// a row (to not Ready), so it flips both ways while the container runs. Each failed probe is reported
// (a Warning `Unhealthy` event in the kubelet); the pod's Ready/ContainersReady follow through onChange.
import type {Duplex} from 'node:stream'

/** Plain JSON fragments of a pod spec. */
type Json = Record<string, any>

export interface ProbeResult {
  ok: boolean
  /** Why it failed, in the kubelet's words (the Unhealthy event's message). */
  output?: string
}

/** How the kubelet reaches one container: an exec in it, or a connection to one of its ports. */
export interface ProbeTarget {
  exec(argv: string[], timeoutMs: number): Promise<ProbeResult>
  /** A connected socket to the container's port, or undefined when the connection is refused. */
  connect(port: number): Promise<Duplex | undefined>
  /** Process containers: the TCP/HTTP check runs inside the pod (its own network namespace), not through connect. */
  inPod?: {tcp(port: number, timeoutMs: number): Promise<ProbeResult>; http(url: string, timeoutMs: number): Promise<ProbeResult>}
}

export interface ProbeSpec {
  exec?: {command?: string[]}
  tcpSocket?: {port: number | string; host?: string}
  httpGet?: {port: number | string; path?: string; host?: string; scheme?: string; httpHeaders?: Array<{name: string; value: string}>}
  initialDelaySeconds?: number
  periodSeconds?: number
  timeoutSeconds?: number
  successThreshold?: number
  failureThreshold?: number
}

export class ReadinessWorker {
  ready = false
  private last?: boolean
  private run = 0
  private timer?: NodeJS.Timeout
  private inFlight = false
  private stopped = false
  /** The initial delay is over (no probe runs before it, not even on a fault change). */
  private started = false

  constructor(
    private readonly spec: ProbeSpec,
    private readonly container: Json,
    private readonly target: ProbeTarget,
    private readonly onResult: (r: ProbeResult, changed: boolean) => void,
  ) {}

  /** Starts probing: the first probe initialDelaySeconds after the container started, then every periodSeconds. */
  start(): void {
    const delay = Math.max(0, this.spec.initialDelaySeconds ?? 0) * 1000
    this.timer = setTimeout(() => this.tick(), delay)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    this.ready = false
    if (this.timer) clearTimeout(this.timer)
  }

  /** One probe now (the sandbox's faults changed what the container answers); the period goes on as before. */
  probeNow(): void {
    if (!this.stopped && this.started) void this.probeOnce()
  }

  private tick(): void {
    if (this.stopped) return
    this.started = true
    void this.probeOnce()
    this.timer = setTimeout(() => this.tick(), Math.max(1, this.spec.periodSeconds ?? 10) * 1000)
    this.timer.unref()
  }

  private async probeOnce(): Promise<void> {
    if (this.inFlight) return
    this.inFlight = true
    let r: ProbeResult
    try {
      r = await this.probe()
    } catch (e) {
      r = {ok: false, output: (e as Error).message}
    } finally {
      this.inFlight = false
    }
    if (this.stopped) return
    this.run = r.ok === this.last ? this.run + 1 : 1
    this.last = r.ok
    const needed = r.ok ? (this.spec.successThreshold ?? 1) : (this.spec.failureThreshold ?? 3)
    const changed = this.run >= needed && this.ready !== r.ok
    if (this.run >= needed) this.ready = r.ok
    this.onResult(r, changed)
  }

  private timeoutMs(): number {
    return Math.max(1, this.spec.timeoutSeconds ?? 1) * 1000
  }

  private port(p: number | string): number {
    if (typeof p === 'number') return p
    const named = (this.container.ports ?? []).find((x: Json) => x.name === p)
    if (named) return named.containerPort
    const n = Number(p)
    if (Number.isInteger(n)) return n
    throw new Error(`port ${p} not found in container ${this.container.name}`)
  }

  private probe(): Promise<ProbeResult> {
    const s = this.spec
    if (s.exec) return this.target.exec(s.exec.command ?? [], this.timeoutMs())
    if (s.tcpSocket) return this.tcp(this.port(s.tcpSocket.port))
    if (s.httpGet) return this.http(this.port(s.httpGet.port), s.httpGet)
    return Promise.resolve({ok: true})
  }

  private async tcp(port: number): Promise<ProbeResult> {
    if (this.target.inPod) return this.target.inPod.tcp(port, this.timeoutMs())
    const sock = await withTimeout(this.target.connect(port), this.timeoutMs())
    if (sock === 'timeout') return {ok: false, output: `dial tcp 127.0.0.1:${port}: i/o timeout`}
    if (!sock) return {ok: false, output: `dial tcp 127.0.0.1:${port}: connect: connection refused`}
    sock.destroy()
    return {ok: true}
  }

  /** GET over a plain connection; 200-399 is a success, as the kubelet counts it. */
  private async http(port: number, g: NonNullable<ProbeSpec['httpGet']>): Promise<ProbeResult> {
    const url = `http://127.0.0.1:${port}${g.path ?? '/'}`
    if ((g.scheme ?? 'HTTP').toUpperCase() !== 'HTTP') return {ok: false, output: `Get "${url}": the sandbox probes plain HTTP only`}
    if (this.target.inPod) return this.target.inPod.http(url, this.timeoutMs())
    const sock = await this.target.connect(port)
    if (!sock) return {ok: false, output: `Get "${url}": dial tcp 127.0.0.1:${port}: connect: connection refused`}
    const headers = [`Host: ${g.host ?? '127.0.0.1'}:${port}`, 'User-Agent: kube-probe/1.32', 'Accept: */*', 'Connection: close', ...(g.httpHeaders ?? []).map((h) => `${h.name}: ${h.value}`)]
    const status = new Promise<number | undefined>((resolve) => {
      let head = ''
      sock.on('data', (b: Buffer) => {
        head += b.toString('latin1')
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head)
        if (m) resolve(Number(m[1]))
        else if (head.includes('\r\n')) resolve(undefined)
      })
      sock.on('end', () => resolve(undefined))
      sock.on('close', () => resolve(undefined))
      sock.on('error', () => resolve(undefined))
    })
    sock.write(`GET ${g.path ?? '/'} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`)
    const code = await withTimeout(status, this.timeoutMs())
    sock.destroy()
    if (code === 'timeout') return {ok: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`}
    if (code === undefined) return {ok: false, output: `Get "${url}": EOF`}
    if (code >= 200 && code < 400) return {ok: true}
    return {ok: false, output: `HTTP probe failed with statuscode: ${code}`}
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let t: NodeJS.Timeout
  return Promise.race([p, new Promise<'timeout'>((r) => (t = setTimeout(() => r('timeout'), ms)))]).finally(() => clearTimeout(t))
}
