import assert from 'node:assert/strict'
import {test} from 'node:test'

import {CliError, ExitCode, InterruptedError} from '../../src/lib/output/errors.js'
import {redact, registerSecret} from '../../src/lib/output/redact.js'

test('exit codes stay frozen to the Go CLI table', () => {
  assert.deepEqual(
    [ExitCode.OK, ExitCode.BAD_INPUT, ExitCode.LOCAL_ENV, ExitCode.NO_CLIENT, ExitCode.AUTH, ExitCode.TABLE_EXISTS, ExitCode.STAGING, ExitCode.SUBMIT, ExitCode.JOB, ExitCode.INTERRUPTED],
    [0, 2, 3, 4, 5, 6, 7, 8, 9, 130],
  )
  assert.equal(new InterruptedError().exitCode, 130)
  assert.equal(new InterruptedError('x', {signal: 'SIGTERM'}).exitCode, 143)
  assert.equal(ExitCode.TERMINATED, 143)
  assert.equal(new CliError('x', {exitCode: 7, hint: 'h'}).hint, 'h')
})

test('redact hides registered secrets, bearer headers and JWTs', () => {
  registerSecret('s3cr3t-token-value')
  assert.equal(redact('token=s3cr3t-token-value!'), 'token=[REDACTED]!')
  assert.equal(redact('Authorization: Bearer abcdefghijkl'), 'Authorization: Bearer [REDACTED]')
  assert.equal(redact('x eyJhbGciOi.eyJzdWIiOiJ4.c2lnbmF0dXJl y'), 'x [REDACTED] y')
  assert.equal(redact('nothing secret here'), 'nothing secret here')
})
