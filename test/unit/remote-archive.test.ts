// The pure parts of https:// archives: which names are archives, which member paths are safe, which
// folder inside an archive is the dataset's root; and the store's region error turned into one line.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {archiveKind, archiveRoot, safeMemberPath} from '../../src/lib/remote/archive.js'
import {storeFailure} from '../../src/lib/remote/s3.js'

test('archive kinds by file name; anything else is not an archive', () => {
  assert.equal(archiveKind('x.tar'), 'tar')
  assert.equal(archiveKind('x.TAR.GZ'), 'tgz')
  assert.equal(archiveKind('x.tgz'), 'tgz')
  assert.equal(archiveKind('x.zip'), 'zip')
  assert.equal(archiveKind('x.csv'), undefined)
  assert.equal(archiveKind('x.tar.bz2'), undefined)
})

test('member paths: ./ and empty segments dropped; absolute, drive, backslash and .. refused', () => {
  assert.equal(safeMemberPath('./d/images/a.jpg', 'x'), 'd/images/a.jpg')
  assert.equal(safeMemberPath('d//images/./a.jpg', 'x'), 'd/images/a.jpg')
  for (const bad of ['/etc/passwd', 'C:/x.csv', 'd\\..\\x.csv', '../x.csv', 'd/../../x.csv', 'd/..']) {
    assert.throws(() => safeMemberPath(bad, 'https://h/a.tar'), (e: Error & {exitCode?: number; reason?: string}) => e.exitCode === 2 && e.reason === 'unsafe_archive' && !e.message.includes('\n'), bad)
  }
  assert.throws(() => safeMemberPath('d/a\nb.jpg', 'x'), /control character/)
})

test('the root: one top folder holding everything, unless it is a dataset sub-folder', () => {
  const e = (...names: string[]) => names.map((name) => ({name, size: 1}))
  assert.equal(archiveRoot(e('cats/labels.csv', 'cats/images/a.jpg')), 'cats')
  assert.equal(archiveRoot(e('labels.csv', 'images/a.jpg')), '')
  assert.equal(archiveRoot(e('images/a.jpg', 'images/b.jpg')), '')
  assert.equal(archiveRoot(e('a/labels.csv', 'b/images/a.jpg')), '')
})

test('a region error names the right region and the setting to change', () => {
  const err = Object.assign(new Error("The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"), {name: 'AuthorizationHeaderMalformed', $metadata: {httpStatusCode: 400}})
  const f = storeFailure(err, 's3:ListBucket', 's3://acme', undefined)
  assert.equal(f.exitCode, 2)
  assert.equal(f.reason, 'wrong_region')
  assert.equal(f.message, 's3://acme is in region eu-west-1, not us-east-1')
  assert.match(f.hint ?? '', /AWS_REGION=eu-west-1/)
})
