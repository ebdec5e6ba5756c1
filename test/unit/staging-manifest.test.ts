// Manifest, hash cache, batching and the tar writer's generated trailing entry, on real files and
// checked with the system's own tools (tar, sha256sum) where the pod would use busybox's.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {cacheDir, HashCache} from '../../src/lib/staging/hash-cache.js'
import {checksumFileSize, checkStageableName, isCompressible, makeBatches, manifestLine, manifestText, parseManifest, planStaging} from '../../src/lib/staging/manifest.js'
import {TarEntry, tarSize, tarStream} from '../../src/lib/staging/tar.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-staging-unit-'))
after(() => rmSync(tmp, {recursive: true, force: true}))
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

describe('manifest', () => {
  test('checksum file size is known from the names alone and matches what sha256sum -c reads', () => {
    const names = ['labels.csv', 'images/ü-ñ.jpg', 'a b/c.txt']
    const text = names.map((n) => manifestLine(sha(n), n)).join('')
    assert.equal(Buffer.byteLength(text), checksumFileSize(names))
    const dir = mkdtempSync(path.join(tmp, 'sum-'))
    for (const n of names) {
      execFileSync('mkdir', ['-p', path.dirname(path.join(dir, n))])
      writeFileSync(path.join(dir, n), n)
    }
    writeFileSync(path.join(dir, 'sums'), text)
    assert.match(execFileSync('sha256sum', ['-c', 'sums'], {cwd: dir, encoding: 'utf8'}), /ü-ñ\.jpg: OK/)
    // the md5 lines the pod checks with busybox md5sum -c: 32 hex digits
    const md5Text = names.map((n) => `${createHash('md5').update(n).digest('hex')}  ${n}\n`).join('')
    assert.equal(Buffer.byteLength(md5Text), checksumFileSize(names, 32))
    writeFileSync(path.join(dir, 'md5s'), md5Text)
    assert.match(execFileSync('busybox', ['md5sum', '-c', 'md5s'], {cwd: dir, encoding: 'utf8'}), /ü-ñ\.jpg: OK/)
  })

  test('parse: later lines win, junk and truncated lines are ignored', () => {
    const a = sha('a')
    const b = sha('b')
    const m = parseManifest(`${manifestLine(a, 'x.jpg')}garbage\n${b.slice(0, 40)}  y.jpg\n${manifestLine(b, 'x.jpg')}${manifestLine(a, 'dir/with space.png')}`)
    assert.deepEqual([...m], [
      ['x.jpg', b],
      ['dir/with space.png', a],
    ])
  })

  test('names that would escape the staged root or clash with control files are refused', () => {
    for (const bad of ['../x', '/abs', 'a\nb', 'images/.tb-batch-1.sha256', '.tracebloc-manifest', 'a\\b']) assert.throws(() => checkStageableName(bad), bad)
    checkStageableName('images/ok.jpg')
  })

  test('plan: only differing hashes are sent; verified work files and unchanged staged files are kept', () => {
    const e = (name: string, content?: string) => ({localPath: `/l/${name}`, name, size: 1, sha256: content === undefined ? undefined : sha(content)})
    const dest = new Map([
      ['labels.csv', sha('old labels')],
      ['images/a.jpg', sha('a')],
      ['images/gone.jpg', sha('gone')],
    ])
    const verified = new Map([['images/b.jpg', sha('b')]])
    const plan = planStaging([e('labels.csv', 'new labels'), e('images/a.jpg', 'a'), e('images/b.jpg', 'b'), e('images/c.jpg', 'c'), e('images/d.jpg')], dest, verified)
    assert.deepEqual(plan.send.map((x) => x.name), ['labels.csv', 'images/c.jpg', 'images/d.jpg'])
    assert.deepEqual(plan.fromDest.map((x) => x.name), ['images/a.jpg'])
    assert.deepEqual(plan.verified.map((x) => x.name), ['images/b.jpg'])
    assert.equal(plan.unchanged, false)
    // unknown local hash of a file the cluster holds → hash it first
    const p2 = planStaging([e('images/a.jpg')], dest, undefined)
    assert.deepEqual(p2.needHash.map((x) => x.name), ['images/a.jpg'])
  })

  test('plan: files an interrupted run left whole but unchecked are hashed here, then checked in the pod; a short one is sent', () => {
    const e = (name: string, size: number, content?: string) => ({localPath: `/l/${name}`, name, size, sha256: content === undefined ? undefined : sha(content)})
    const present = new Map([
      ['images/a.jpg', 5],
      ['images/b.jpg', 2],
    ])
    const unhashed = planStaging([e('images/a.jpg', 5), e('images/b.jpg', 5), e('images/c.jpg', 5)], undefined, undefined, present)
    assert.deepEqual(unhashed.needHash.map((x) => x.name), ['images/a.jpg'], 'only the whole one is worth hashing')
    const hashed = planStaging([e('images/a.jpg', 5, 'a'), e('images/b.jpg', 5, 'b'), e('images/c.jpg', 5, 'c')], undefined, undefined, present)
    assert.deepEqual(hashed.landed.map((x) => x.name), ['images/a.jpg'])
    assert.deepEqual(hashed.send.map((x) => x.name), ['images/a.jpg', 'images/b.jpg', 'images/c.jpg'], 'sent unless the pod says it matches')
  })

  test('plan: unchanged only when the staged manifest is exactly the dataset', () => {
    const files = [
      {localPath: '/l/a', name: 'a', size: 1, sha256: sha('a')},
      {localPath: '/l/b', name: 'b', size: 1, sha256: sha('b')},
    ]
    const dest = new Map(files.map((f) => [f.name, f.sha256]))
    assert.equal(planStaging(files, dest, undefined).unchanged, true)
    assert.equal(planStaging(files.slice(0, 1), dest, undefined).unchanged, false, 'a file removed locally must be removed remotely')
    assert.equal(planStaging(files, undefined, undefined).unchanged, false)
    assert.equal(manifestText(files), manifestLine(sha('a'), 'a') + manifestLine(sha('b'), 'b'))
  })

  test('batches respect bytes and count; an oversized file is a batch of its own', () => {
    const sizes = [10, 10, 10, 100, 5, 5, 5, 5]
    const b = makeBatches(sizes.map((size) => ({size})), {bytes: 25, files: 3})
    assert.deepEqual(b.map((x) => x.map((y) => y.size)), [[10, 10], [10], [100], [5, 5, 5], [5]])
  })

  test('compressible by extension: text yes, images no', () => {
    assert.equal(isCompressible('labels.csv'), true)
    assert.equal(isCompressible('texts/a.TXT'), true)
    assert.equal(isCompressible('images/a.jpg'), false)
    assert.equal(isCompressible('images/a.png'), false)
  })
})

describe('hash cache', () => {
  test('hit on same size+mtime, miss after a change; survives a reload; honours XDG_CACHE_HOME', () => {
    assert.equal(cacheDir({XDG_CACHE_HOME: '/x/cache'}), '/x/cache/tracebloc')
    assert.equal(cacheDir({XDG_CACHE_HOME: 'relative'}), path.join(os.homedir(), '.cache', 'tracebloc'))
    const dir = path.join(tmp, 'cache')
    const f = path.join(tmp, 'data.bin')
    writeFileSync(f, 'hello')
    const st = statSync(f)
    const c = HashCache.load(tmp, dir)
    assert.equal(c.get(f, st.size, st.mtimeMs), undefined)
    c.set(f, st.size, st.mtimeMs, sha('hello'))
    assert.equal(c.save(), true)
    const c2 = HashCache.load(tmp, dir)
    assert.equal(c2.get(f, st.size, st.mtimeMs), sha('hello'))
    utimesSync(f, new Date(), new Date(Date.now() + 5000))
    const st2 = statSync(f)
    assert.equal(c2.get(f, st2.size, st2.mtimeMs), undefined, 'a touched file is re-hashed')
    assert.equal(c2.get(f, st.size + 1, st.mtimeMs), undefined)
  })

  test('a corrupt cache file is ignored line by line, never fatal', () => {
    const dir = path.join(tmp, 'cache2')
    const c = HashCache.load('/some/root', dir)
    c.set('/a', 1, 2, sha('a'))
    c.save()
    writeFileSync(c.file, `${readFileSync(c.file, 'utf8')}not\ta\tvalid line\n\u0000\u0001`)
    assert.equal(HashCache.load('/some/root', dir).get('/a', 1, 2), sha('a'))
  })
})

describe('tar with a generated trailing checksum entry', () => {
  test('exact length, extracts with tar, the checksum entry verifies the files', async () => {
    const src = mkdtempSync(path.join(tmp, 'src-'))
    const names = ['labels.csv', 'images/a.jpg', `images/${'l'.repeat(120)}.jpg`]
    const entries: TarEntry[] = names.map((n, i) => {
      const p = path.join(src, n.replace(/\//g, '_'))
      writeFileSync(p, Buffer.alloc(1000 * (i + 1), i + 1))
      return {localPath: p, name: n, size: 1000 * (i + 1)}
    })
    const hashes = new Map<string, ReturnType<typeof createHash>>()
    const sums: string[] = []
    const sumEntry: TarEntry = {localPath: '', name: '.tb-batch-t.sha256', size: checksumFileSize(names), data: () => Buffer.from(sums.join(''))}
    const chunks: Buffer[] = []
    for await (const c of tarStream([...entries, sumEntry], {
      onChunk: (e, chunk) => {
        if (!hashes.has(e.name)) hashes.set(e.name, createHash('sha256'))
        hashes.get(e.name)!.update(chunk)
      },
      onFileDone: (e) => sums.push(manifestLine(hashes.get(e.name)!.digest('hex'), e.name)),
    }))
      chunks.push(c)
    const archive = Buffer.concat(chunks)
    assert.equal(archive.length, tarSize([...entries, sumEntry]))
    const out = mkdtempSync(path.join(tmp, 'out-'))
    execFileSync('tar', ['-x', '-f', '-', '-C', out], {input: archive})
    assert.match(execFileSync('sha256sum', ['-c', '.tb-batch-t.sha256'], {cwd: out, encoding: 'utf8'}), /labels\.csv: OK\nimages\/a\.jpg: OK\nimages\/l+\.jpg: OK/)
  })

  test('a generated entry of the wrong size is an error, not a corrupt archive', async () => {
    const bad: TarEntry = {localPath: '', name: 'x', size: 10, data: () => Buffer.from('short')}
    await assert.rejects(async () => {
      for await (const _ of tarStream([bad])) void _
    }, /declared 10/)
  })
})
