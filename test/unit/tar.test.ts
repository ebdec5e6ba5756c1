import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {TarEntry, tarSize, tarStream} from '../../src/lib/staging/tar.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'tb-tar-'))
after(() => rmSync(dir, {recursive: true, force: true}))

function fixture(): TarEntry[] {
  const src = path.join(dir, 'src')
  mkdirSync(src, {recursive: true})
  const files: Array<[string, Buffer]> = [
    ['labels.csv', Buffer.from('filename,label\ncat1.jpeg,cat\n')],
    ['images/empty.jpeg', Buffer.alloc(0)],
    ['images/exact-block.bin', Buffer.alloc(512, 7)],
    ['images/' + 'x'.repeat(140) + '.jpeg', Buffer.from('long name needs a PAX header')],
    ['images/big.bin', Buffer.alloc(3 * 1024 * 1024 + 17, 1)],
    ['texts/ünïcödé.txt', Buffer.from('utf-8 name')],
  ]
  return files.map(([name, data], i) => {
    const local = path.join(src, `f${i}`)
    writeFileSync(local, data)
    return {localPath: local, name, size: data.length}
  })
}

async function collect(entries: TarEntry[]): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of tarStream(entries)) parts.push(c)
  return Buffer.concat(parts)
}

for (const [label, bin] of [
  ['GNU tar', 'tar'],
  ['busybox tar', '/bin/busybox'],
] as const) {
  test(`archive is exactly tarSize() bytes and ${label} extracts it byte-identical`, {skip: existsSync(bin) || bin === 'tar' ? false : `${bin} not installed`}, async () => {
    const entries = fixture()
    const archive = await collect(entries)
    assert.equal(archive.length, tarSize(entries))
    const out = mkdtempSync(path.join(dir, 'out-'))
    const args = bin === 'tar' ? ['-x', '-f', '-', '-C', out] : ['tar', '-x', '-f', '-', '-C', out]
    execFileSync(bin, args, {input: archive})
    for (const e of entries) assert.deepEqual(readFileSync(path.join(out, e.name)), readFileSync(e.localPath), e.name)
  })
}

test('a file that shrank after planning is an error, not a short archive', async () => {
  const entries = fixture()
  entries[0] = {...entries[0], size: entries[0].size + 10}
  await assert.rejects(collect(entries), /changed after it was checked: its size went from/)
})
