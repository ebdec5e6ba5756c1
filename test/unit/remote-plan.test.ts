// The pure parts of a remote push: the bounded, stratified header sample, proxy settings in the pull
// job (never with white space, only the proxy variables), and skeleton paths rewritten to the source.
import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {CliError, ExitCode} from '../../src/lib/output/errors.js'
import {showSource, stratifiedSample, type RemoteDataset} from '../../src/lib/remote/plan.js'
import {pullJob} from '../../src/lib/remote/pod-pull.js'
import {parseSourceUrl} from '../../src/lib/remote/url.js'

test('header sample: at most max, every extension\'s smallest and largest, spread over sizes', () => {
  const items = Array.from({length: 1000}, (_, i) => ({f: {name: `i${i}.${i % 10 === 0 ? 'png' : 'jpg'}`, size: 1000 + i}}))
  const s = stratifiedSample(items, 50)
  assert.equal(s.length, 50)
  assert.equal(new Set(s).size, 50)
  for (const name of ['i0.png', 'i990.png', 'i1.jpg', 'i999.jpg']) assert.ok(s.some((x) => x.f.name === name), name)
  const sizes = s.map((x) => x.f.size).sort((a, b) => a - b)
  assert.ok(sizes.filter((z) => z < 1500).length >= 15 && sizes.filter((z) => z >= 1500).length >= 15, 'both halves of the size order sampled')
  assert.equal(stratifiedSample(items.slice(0, 10), 50).length, 10, 'small sets are read whole')
})

test('pull job: proxy settings as job lines, only the proxy variables, none with white space', () => {
  const job = pullJob([{dest: 'a.csv', url: 'https://h/a?X-Amz-Signature=1', facts: {size: 1, etagKind: 'opaque', etag: '', checksums: {}}}], undefined, {https_proxy: 'http://u:p@proxy:3128', NO_PROXY: '.svc', PATH: '/evil', http_proxy: 'http://a b'})
  const lines = job.split('\n')
  assert.ok(lines.includes('proxy\thttps_proxy\thttp://u:p@proxy:3128'))
  assert.ok(lines.includes('proxy\tno_proxy\t.svc'))
  assert.ok(!job.includes('/evil') && !job.includes('a b'))
})

test('messages name the source, never the skeleton folder', () => {
  const ds = {source: parseSourceUrl('s3://acme/cats/'), display: 's3://acme/cats/', skeleton: path.join('/tmp', 'tracebloc-remote-x')} as RemoteDataset
  const e = showSource(new CliError(`no "filename" column in ${ds.skeleton}${path.sep}labels.csv`, {exitCode: ExitCode.BAD_INPUT}), ds) as CliError
  assert.equal(e.message, 'no "filename" column in s3://acme/cats/labels.csv')
})
