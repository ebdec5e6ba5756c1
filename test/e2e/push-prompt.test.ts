// `dataset push` without --category on a terminal asks for the task when the data leaves several
// (a lone CSV: any tabular task), and asks nothing when it leaves one (images/ and a CSV). Driven
// through a real pseudo-terminal (python3's pty module) against the built CLI; no cluster is involved:
// KUBECONFIG points nowhere, so the run stops at "Connect" after the validate step we assert on.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {before, test} from 'node:test'

import {assertBuilt, bin, root} from './cli.js'

// Runs the CLI on a pty; answers each prompt line in `answers` only once "Task [" shows on the screen
// (never blind), waiting up to 30 s per step. Prints a JSON transcript: the screen text before each
// answer, everything after, and the exit code.
const DRIVER = String.raw`
import json, os, pty, re, select, signal, struct, sys, termios, fcntl, time
argv, answers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(argv[0], argv, dict(os.environ, KUBECONFIG='/nonexistent/kubeconfig', NO_COLOR='1', TRACEBLOC_SKIP_NEW_VERSION_CHECK='true'))
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
clean = lambda b: re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', b.decode(errors='replace'))
out, seen, shown = b'', 0, []
deadline = time.time() + 30
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
    if answers and out.count(b'Task [') > seen:
        seen = out.count(b'Task [')
        shown.append(clean(out))
        os.write(fd, (answers.pop(0) + '\r').encode())
        deadline = time.time() + 30
_, st = os.waitpid(pid, 0)
print(json.dumps({'shown': shown, 'all': clean(out), 'code': os.waitstatus_to_exitcode(st)}))
`

const hasPython = spawnSync('python3', ['-c', 'import pty'], {stdio: 'ignore'}).status === 0
const tabular = path.join(root, 'test/fixtures/reference/samples/tabular_regression/tabular_regression_sample_in_csv_format.csv')
const images = path.join(root, 'test/fixtures/reference/samples/image_classification/data')

function pushOnPty(answers: string[], sample = tabular, extra = ['--label-column', 'price']): {shown: string[]; all: string; code: number} {
  const argv = [process.execPath, bin, 'dataset', 'push', sample, '--table', 'prompt_test', '--dry-run', ...extra]
  const r = spawnSync('python3', ['-c', DRIVER, JSON.stringify(argv), JSON.stringify(answers)], {cwd: root, encoding: 'utf8', timeout: 120_000})
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as {shown: string[]; all: string; code: number}
}

before(assertBuilt)

test('no --category on a terminal: the tabular tasks are offered before the task list, a bad answer is asked again, the pick is validated', {skip: hasPython ? false : 'python3 with pty is not installed'}, () => {
  const r = pushOnPty(['9', '2'])
  assert.equal(r.shown.length, 2, `the prompt never appeared on the terminal:\n${r.all}`)
  const first = r.shown[0]!
  // the question is on screen before anything is answered, and before the live task list starts
  assert.match(first, /This looks like tabular data \(.*\)\. Which task is it for\?/)
  assert.match(first, /1\) tabular_classification — predict a class from table columns/)
  assert.match(first, /5\) time_to_event_prediction/)
  assert.match(first, /Task \[1-5\]: $/)
  assert.doesNotMatch(first, /Validate the dataset locally/)
  assert.match(r.shown[1]!, /Please answer with a number from 1 to 5\./)
  // the validate step used the chosen category; the run then stops at Connect (no cluster)
  assert.match(r.all, /Validated 8 rows, 1 files \(.*\) as tabular_regression/)
  assert.match(r.all, /loading kubeconfig/)
  assert.notEqual(r.code, 0)
})

test('no --category on a terminal, data that leaves one task: no question, the detected category is named', {skip: hasPython ? false : 'python3 with pty is not installed'}, () => {
  const r = pushOnPty([], images, ['--label-column', 'label'])
  assert.doesNotMatch(r.all, /Which task is it for/)
  assert.match(r.all, /as image_classification \(detected: images\/ and a CSV/)
  assert.match(r.all, /loading kubeconfig/)
})
