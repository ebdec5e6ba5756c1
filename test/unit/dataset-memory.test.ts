// Local validation at file-count scale: what it keeps per file, checked with a heap limit in a child
// (an out-of-memory crash fails the test; no timing), and the compact structures it keeps instead.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {scanCsv} from '../../src/lib/local/csv.js'
import {DistinctRows} from '../../src/lib/local/distinct-rows.js'
import {FileList, StagedFiles} from '../../src/lib/local/file-list.js'

const tmp = mkdtempSync(path.join(tmpdir(), 'tb-memory-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

const FILES = 60_000
/** Old space for validating FILES files: a few hundred bytes a file kept on the JS heap does not fit. */
const OLD_SPACE_MIB = 40

test(`validating ${FILES} text files fits a ${OLD_SPACE_MIB} MiB heap: no per-file objects, rows or listing kept`, () => {
  const dir = path.join(tmp, 'many')
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const csv = openSync(path.join(dir, 'labels.csv'), 'w')
  writeSync(csv, 'filename,extension,label\n')
  let rows = ''
  for (let i = 0; i < FILES; i++) {
    const id = String(i).padStart(6, '0')
    writeFileSync(path.join(dir, 'texts', `doc${id}.txt`), 'x')
    rows += `doc${id},.txt,${i % 2 ? 'positive' : 'negative'}\n`
  }
  writeSync(csv, rows)
  closeSync(csv)
  const code = `
    const {planDataset} = await import('./src/lib/local/index.ts')
    const plan = await planDataset({path: ${JSON.stringify(dir)}, table: 't', category: 'text_classification', labelColumn: 'label'})
    const last = plan.files.at(plan.files.length - 1)
    process.stdout.write(JSON.stringify({files: plan.files.length, rows: plan.rows, distinct: plan.distinctRows, bytes: plan.totalBytes, last: last.stagedPath}))
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', `--max-old-space-size=${OLD_SPACE_MIB}`, '--input-type=module', '-e', code], {encoding: 'utf8', cwd: process.cwd()})
  assert.equal(r.status, 0, `validation ran out of memory or failed: ${r.stderr.slice(-600)}`)
  assert.deepEqual(JSON.parse(r.stdout), {files: FILES + 1, rows: FILES, distinct: FILES, bytes: FILES + rows.length + 'filename,extension,label\n'.length, last: `texts/doc${String(FILES - 1).padStart(6, '0')}.txt`})
})

test('distinct rows: counted by cell values (quoting aside), a row with an extra empty cell is another row', async () => {
  const file = path.join(tmp, 'rows.csv')
  writeFileSync(file, 'a,b\n1,x\n"1",x\n1,"x"\n1,x,\n1,y\n2,x\n"a,b",c\na,"b,c"\né,ü\n"é","ü"\n')
  const d = new DistinctRows()
  const seen = new Set<string>()
  await scanCsv(file, {
    onRow(row) {
      d.add(row)
      seen.add(JSON.stringify(row.cells()))
    },
  })
  // 1,x ×3 · 1,x, · 1,y · 2,x · "a,b",c · a,"b,c" · é,ü ×2
  assert.equal(seen.size, 7)
  assert.equal(d.size, seen.size)
  const many = new DistinctRows()
  const cells = (v: string[]) => ({length: v.length, cell: (i: number) => v[i] ?? '', numberShape: () => 0 as const})
  for (let i = 0; i < 200_000; i++) many.add(cells([`doc${i}`, i % 2 ? 'positive' : 'negative']))
  for (let i = 0; i < 200_000; i += 3) many.add(cells([`doc${i}`, i % 2 ? 'positive' : 'negative']))
  assert.equal(many.size, 200_000)
})

test('a listed folder: names looked up by binary search in byte order, views read and write its columns, the plan reads like an array', () => {
  const list = new FileList(`/data${path.sep}images${path.sep}`, 'images/', 2)
  const names = ['b.png', 'a.png', 'é.png', 'Z.png', '😀.png', 'a b.png'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
  names.forEach((n, i) => list.push(n, i * 10, 1.5 + i, 7, i === 0 ? undefined : 100 + i))
  for (const [i, n] of names.entries()) assert.equal(list.indexOf(n), i, n)
  assert.equal(list.indexOf('c.png'), -1)
  assert.equal(list.indexOf(''), -1)
  const f = list.at(2)!
  assert.deepEqual([f.name, f.size, f.mtimeMs, f.dev, f.ino, f.header, f.stagedPath, f.localPath], [names[2], 20, 3.5, 7, 102, undefined, `images/${names[2]}`, `/data${path.sep}images${path.sep}${names[2]}`])
  assert.equal(list.at(0)!.ino, undefined)
  // a remote source sets sizes, clears identity and sets headers through the views
  f.size = 99
  f.dev = undefined
  f.header = {ok: false, reason: 'empty', detail: 'x'}
  assert.deepEqual([list.at(2)!.size, list.at(2)!.dev, list.at(2)!.header?.ok, list.at(1)!.header], [99, undefined, false, undefined])
  const kept = list.filter((x) => x.size >= 30) // the one set to 99, and the last three
  assert.deepEqual(kept.map((x) => x.name), names.slice(2))
  assert.deepEqual([kept.indexOf(names[4]!), kept.at(0)!.size, kept.at(0)!.header?.ok], [2, 99, false])
  const plan = new StagedFiles([{localPath: '/data/labels.csv', stagedPath: 'labels.csv', size: 5, mtimeMs: 1}], [list, kept])
  assert.equal(plan.length, 1 + names.length + kept.length)
  assert.deepEqual(plan.slice(0, 2).map((x) => x.stagedPath), ['labels.csv', `images/${names[0]}`])
  assert.equal(plan.at(plan.length - 1)!.stagedPath, `images/${names.at(-1)}`)
  assert.equal(plan.at(plan.length), undefined)
  assert.equal(plan.totalBytes(), plan.reduce((s, x) => s + x.size, 0))
  assert.deepEqual([...plan].map((x) => x.stagedPath), plan.map((x) => x.stagedPath))
  assert.deepEqual(JSON.parse(JSON.stringify(plan))[1], {localPath: `/data${path.sep}images${path.sep}${names[0]}`, stagedPath: `images/${names[0]}`, size: 0, mtimeMs: 1.5, dev: 7})
})
