// Presigned GETs made from one captured request per bucket (src/lib/remote/s3.ts objectPresigner) are the
// SDK's own getSignedUrl URLs, byte for byte: for keys with every kind of character, path-style and
// virtual-hosted addressing, a custom endpoint, session credentials, and as many URLs as a large pull signs.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {GetObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {getSignedUrl} from '@aws-sdk/s3-request-presigner'

import {objectPresigner} from '../../src/lib/remote/s3.js'

const KEYS = [
  'images/a.png',
  'a b+c.png',
  'dir/ü/ß.png',
  "x!'()*~.png",
  'a%20b',
  'deep/nested//double',
  '#hash?.png',
  'emoji😀.png',
  '/leading',
  'trailing/',
  'semi;colon,comma=eq&amp@at$dollar',
  'k',
]
const DATE = new Date('2026-12-07T10:00:00Z')

const clients: Array<[string, S3Client]> = [
  ['path-style endpoint', new S3Client({region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, credentials: {accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret'}})],
  ['virtual-hosted AWS, session token', new S3Client({region: 'eu-west-1', credentials: {accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session-token-value'}})],
  ['https endpoint with a port', new S3Client({region: 'auto', endpoint: 'https://store.example.com:8443', forcePathStyle: true, credentials: {accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret'}})],
]

for (const [name, client] of clients) {
  test(`${name}: every key's URL is getSignedUrl's`, async () => {
    const sign = await objectPresigner(client, 'my-bucket')
    assert.equal(sign.captured, true, 'signed from the captured request, not through getSignedUrl') // the check can fail
    for (const key of KEYS) {
      for (const expiresIn of [60, 3600]) {
        const ours = await sign(key, expiresIn, DATE)
        const sdk = await getSignedUrl(client, new GetObjectCommand({Bucket: 'my-bucket', Key: key}), {expiresIn, signingDate: DATE})
        assert.equal(ours, sdk, key)
      }
    }
  })
}

test('a thousand keys in a row: each URL its own (the captured request is never changed by a signing)', async () => {
  const client = clients[0]![1]
  const sign = await objectPresigner(client, 'b')
  const urls = new Set<string>()
  for (let i = 0; i < 1000; i++) urls.add(await sign(`images/i${i}.png`, 900, DATE))
  assert.equal(urls.size, 1000)
  assert.equal(await sign('images/i7.png', 900, DATE), await getSignedUrl(client, new GetObjectCommand({Bucket: 'b', Key: 'images/i7.png'}), {expiresIn: 900, signingDate: DATE}))
})
