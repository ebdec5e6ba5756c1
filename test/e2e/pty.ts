// Runs the built CLI on a real pseudo-terminal (python3's pty module, 120×40) and answers prompts: each
// answer is typed only once its prompt text has appeared one more time on the screen (never blind). Async:
// a sandbox living in the test's process keeps serving meanwhile. The screen text comes back without ANSI
// sequences, with the screen as it was before each answer.
import {spawn, spawnSync} from 'node:child_process'

import {bin, root} from './cli.js'

const DRIVER = String.raw`
import json, os, pty, re, select, signal, struct, sys, termios, fcntl, time
argv, env, prompt, answers, idle = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3].encode(), json.loads(sys.argv[4]), float(sys.argv[5])
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(argv[0], argv, dict(os.environ, **env))
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
clean = lambda b: re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', b.decode(errors='replace'))
out, seen, shown = b'', 0, []
deadline = time.time() + idle
while True:
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        break
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        out += d
    if answers and out.count(prompt) > seen:
        seen = out.count(prompt)
        shown.append(clean(out))
        os.write(fd, (answers.pop(0) + '\r').encode())
        deadline = time.time() + idle
_, st = os.waitpid(pid, 0)
print(json.dumps({'shown': shown, 'screen': clean(out), 'code': os.waitstatus_to_exitcode(st)}))
`

export const hasPty = spawnSync('python3', ['-c', 'import pty'], {stdio: 'ignore'}).status === 0

export interface PtyRun {
  /** The screen before each answer. */
  shown: string[]
  screen: string
  code: number
}

/** `tracebloc <args>` on a pty; `answers` are typed after successive appearances of `prompt`; killed after `idleSeconds` without an answer. */
export function cliOnPty(args: string[], o: {env?: Record<string, string>; prompt: string; answers: string[]; idleSeconds?: number}): Promise<PtyRun> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, bin, ...args]
    const env = {NO_COLOR: '1', TRACEBLOC_SKIP_NEW_VERSION_CHECK: 'true', ...o.env}
    const child = spawn('python3', ['-c', DRIVER, JSON.stringify(argv), JSON.stringify(env), o.prompt, JSON.stringify(o.answers), String(o.idleSeconds ?? 30)], {cwd: root})
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as PtyRun)
      } catch {
        reject(new Error(`pty driver: ${err || out}`))
      }
    })
  })
}
