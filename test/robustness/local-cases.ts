// Bad inputs that fail on this machine, before any cluster is contacted: `ingest validate` input,
// `dataset push` flags, dataset content and kubeconfigs. Each case: the files it needs (written into its
// own temp dir), the arguments (`$D` = that dir), the expected exit code and a pattern naming the problem.
import {pngHeader} from '../helpers/png.js'
import type {Files} from './harness.js'

export interface LocalCase {
  name: string
  files?: Files
  args: string[]
  code: number
  message: RegExp
  stdin?: string | Buffer
  env?: Record<string, string>
  /** chmod 000 these paths (relative to the case dir) and run as an unprivileged user when root. */
  unreadable?: string[]
  /** symlinks to create: [link, target] relative to the case dir */
  links?: Array<[string, string]>
}

const OK_YAML = `apiVersion: tracebloc.io/v1
kind: IngestConfig
category: tabular_classification
table: churn
intent: train
csv: /data/shared/churn/customers.csv
schema:
  age: INT
  plan: VARCHAR(64)
label: plan
`
/** The valid tabular config with one schema type replaced. */
const withType = (type: string) => OK_YAML.replace('age: INT', `age: ${JSON.stringify(type)}`)
const withLine = (from: string, to: string) => OK_YAML.replace(from, to)

const v = (name: string, yaml: string | Buffer, code: number, message: RegExp, extra: Partial<LocalCase> = {}): LocalCase => ({
  name: `ingest validate: ${name}`,
  files: {'in.yaml': yaml},
  args: ['ingest', 'validate', '$D/in.yaml'],
  code,
  message,
  ...extra,
})

const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n') + '\n'
const manyAliases = `base: &b 1\nlist: [${Array(150).fill('*b').join(', ')}]\n`
const mergeBomb = `x: &x {a: 1, b: 2}\n${Array.from({length: 120}, (_, i) => `k${i}: {<<: *x}`).join('\n')}\n`

export const VALIDATE_CASES: LocalCase[] = [
  v('alias bomb (billion laughs)', bomb, 2, /aliases expand to more than 100,000 nodes/),
  v('more than 100 aliases', manyAliases, 2, /more than 100 YAML aliases/),
  v('merge keys past the alias limit', mergeBomb, 2, /more than 100 YAML aliases/),
  v('nesting 300 deep', `a: ${'['.repeat(300)}${']'.repeat(300)}\n`, 2, /nesting exceeded maxDepth/),
  v('5 MiB file', 'a: ' + 'x'.repeat(5 << 20) + '\n', 2, /larger than 4 MiB/),
  v('5 MiB on stdin', '', 2, /larger than 4 MiB/, {args: ['ingest', 'validate', '-'], stdin: 'a: ' + 'x'.repeat(5 << 20) + '\n'}),
  v('empty file', '', 2, /is empty/),
  v('only a comment', '# nothing\n', 2, /is empty/),
  v('empty stdin', '', 2, /is empty/, {args: ['ingest', 'validate', '-'], stdin: ''}),
  v('NUL byte', Buffer.from('table: a\u0000b\n'), 2, /null byte/),
  v('invalid UTF-8', Buffer.from([0x74, 0x61, 0x62, 0x6c, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), 2, /not valid UTF-8/),
  v('top level is a list', '- a\n- b\n', 2, /not of type 'object'|mapping/),
  v('top level is a scalar', 'hello\n', 2, /not of type 'object'|mapping/),
  v('two documents', OK_YAML + '---\n' + OK_YAML, 2, /single document/),
  v('tab indentation', 'schema:\n\tage: INT\n', 2, /not valid YAML/),
  v('unclosed quote', 'table: "churn\n', 2, /not valid YAML/),
  v('unclosed flow sequence', 'a: [1, 2\n', 2, /not valid YAML/),
  v('python object tag', 'table: !!python/object:os.system x\n', 2, /unknown scalar tag/),
  v('table: no (YAML 1.1 boolean)', withLine('table: churn', 'table: no'), 2, /table: False is not of type 'string'/),
  v('table with a hyphen', withLine('table: churn', 'table: churn-x'), 2, /not a valid table name/),
  v('table of 300,000 characters', withLine('table: churn', `table: ${'t'.repeat(300_000)}`), 2, /300000 characters; the maximum is 63/),
  v('table carrying SQL', withLine('table: churn', 'table: "x; DROP TABLE users"'), 2, /not a valid table name/),
  v('type carrying SQL', withType('INT); DROP TABLE users; --'), 2, /schema\.age: 'INT\); DROP TABLE users; --' is not a valid SQL type/),
  v('type with unbalanced parenthesis', withType('DECIMAL(10,2'), 2, /schema\.age: .*not a valid SQL type/),
  v('type with a stray closing parenthesis', withType('INT)'), 2, /schema\.age: .*not a valid SQL type/),
  v('VARCHAR without a length', withType('VARCHAR'), 2, /VARCHAR needs a length/),
  v('VARCHAR(0)', withType('VARCHAR(0)'), 2, /VARCHAR length must be an integer from 1/),
  v('VARCHAR(70000)', withType('VARCHAR(70000)'), 2, /VARCHAR length must be an integer from 1 to 65,535/),
  v('VARCHAR(-1)', withType('VARCHAR(-1)'), 2, /VARCHAR length must be an integer/),
  v('DECIMAL scale above precision', withType('DECIMAL(5,10)'), 2, /scale cannot exceed its precision/),
  v('DECIMAL with three parameters', withType('DECIMAL(10,2,1)'), 2, /at most 2 parameters/),
  v('BOOLEAN with a parameter', withType('BOOLEAN(1)'), 2, /BOOLEAN takes no parameters/),
  v('DATETIME(7)', withType('DATETIME(7)'), 2, /fractional-second digits must be an integer from 0 to 6/),
  v('type with a DEFAULT clause', withType("TEXT DEFAULT 'x'"), 2, /not a valid SQL type/),
  v('type with a COLLATE clause', withType('VARCHAR(10) COLLATE utf8mb4_bin'), 2, /'VARCHAR\(10\) COLLATE utf8mb4_bin' is not a valid SQL type/),
  v('type with a comment', withType('INT -- x'), 2, /not a valid SQL type/),
  v('type with a newline', withType('INT\nDROP'), 2, /not a valid SQL type/),
  v('type with a quote', withType("VARCHAR('10')"), 2, /not a valid SQL type/),
  v('UNSIGNED on a string type', withType('VARCHAR(10) UNSIGNED'), 2, /nothing may follow VARCHAR/),
  v('unknown type MONEY', withType('MONEY'), 2, /Unknown data type: 'MONEY'/),
  v('empty type', withType(''), 2, /Unknown data type/),
  v('type of 100,000 characters', withType('X'.repeat(100_000)), 2, /characters in all/),
  v('reserved column id', withLine('  age: INT', '  id: INT'), 2, /column the ingestor creates itself/),
  v('column name of 65 characters', withLine('  age: INT', `  ${'c'.repeat(65)}: INT`), 2, /65 characters; the maximum is 64/),
  v('relative csv path', withLine('csv: /data/shared/churn/customers.csv', 'csv: customers.csv'), 2, /must be an absolute path/),
  v('csv path escaping the volume', withLine('csv: /data/shared/churn/customers.csv', 'csv: /data/shared/../../etc/passwd'), 2, /under \/data\/shared/),
  v('unknown category', withLine('category: tabular_classification', 'category: mind_reading'), 2, /is not one of/),
  v('10,000 unknown keys', OK_YAML + Array.from({length: 10_000}, (_, i) => `k${i}: 1`).join('\n') + '\n', 2, /and 9980 more were unexpected/),
  v('a key of 1 MB', OK_YAML + `${'k'.repeat(1 << 20)}: 1\n`, 2, /characters in all/),
  v('a value of 10 MB', withLine('label: plan', `label: ${'v'.repeat(10_000_000)}`), 2, /./),
  v('both csv and json', OK_YAML + 'json: /data/shared/churn/x.json\n', 2, /csv|json/),
  v('schema as a list', withLine('schema:\n  age: INT\n  plan: VARCHAR(64)', 'schema: [INT]'), 2, /schema: .*not of type 'object'/),
  v('no such file', '', 3, /no such file/, {args: ['ingest', 'validate', '$D/missing.yaml']}),
  v('a folder', '', 3, /is a directory/, {args: ['ingest', 'validate', '$D']}),
  v('unreadable file', OK_YAML, 3, /permission denied/, {unreadable: ['in.yaml']}),
  v('symlink loop', '', 3, /symbolic links/, {args: ['ingest', 'validate', '$D/loop1'], links: [['loop1', 'loop2'], ['loop2', 'loop1']]}),
  v('--json on an invalid file', withType('MONEY'), 2, /"valid": false/, {args: ['ingest', 'validate', '$D/in.yaml', '--json']}),
  v('valid config, CRLF line endings (control)', OK_YAML.replaceAll('\n', '\r\n'), 0, /: ok/),
  v('INTEGER UNSIGNED and varchar(20) (control)', withType('INTEGER UNSIGNED').replace('VARCHAR(64)', 'varchar(20)'), 0, /: ok/),
]

// ---- dataset push: flags, content, kubeconfig ----

const png = pngHeader(8, 8)
/** A tiny valid image_classification dataset. */
const IMAGES: Files = {'labels.csv': 'filename,label\na.png,cat\nb.png,dog\n', 'images/a.png': png, 'images/b.png': png}
const TABULAR: Files = {'data.csv': 'age,plan,label\n30,basic,yes\n41,pro,no\n25,basic,yes\n'}
const push = (extra: string[], dir = '$D') => ['dataset', 'push', dir, '--table', 'robust_t', ...extra]
const img = (extra: string[] = []) => push(['--category', 'image_classification', ...extra])
const tab = (extra: string[] = []) => push(['--category', 'tabular_classification', ...extra], '$D/data.csv')
// A kubeconfig is never reached by these cases: local validation fails first (the file does not exist).
const NOKC = ['--kubeconfig', '$D/no-kubeconfig']

const f = (name: string, args: string[], code: number, message: RegExp, files: Files = IMAGES): LocalCase => ({name: `flags: ${name}`, files, args: [...args, ...NOKC], code, message})

export const FLAG_CASES: LocalCase[] = [
  f('table starting with a digit', ['dataset', 'push', '$D', '--table', '1abc', '--category', 'image_classification'], 2, /won't work as a table name/),
  f('table with a hyphen', ['dataset', 'push', '$D', '--table', 'a-b', '--category', 'image_classification'], 2, /won't work as a table name/),
  f('table with a space', ['dataset', 'push', '$D', '--table', 'a b', '--category', 'image_classification'], 2, /won't work as a table name/),
  f('table carrying SQL', ['dataset', 'push', '$D', '--table', 'x;DROP TABLE y', '--category', 'image_classification'], 2, /won't work as a table name/),
  f('table with a newline', ['dataset', 'push', '$D', '--table', 'a\nb', '--category', 'image_classification'], 2, /won't work as a table name/),
  f('table of 64 characters', ['dataset', 'push', '$D', '--table', 't'.repeat(64), '--category', 'image_classification'], 2, /64 characters; the max is 63/),
  f('table of 100,000 characters', ['dataset', 'push', '$D', '--table', 't'.repeat(100_000), '--category', 'image_classification'], 2, /100000 characters; the max is 63/),
  f('non-ASCII table', ['dataset', 'push', '$D', '--table', 'tåble', '--category', 'image_classification'], 2, /won't work as a table name/),
  f('empty table', ['dataset', 'push', '$D', '--table', '', '--category', 'image_classification'], 2, /table/),
  f('missing --table', ['dataset', 'push', '$D', '--category', 'image_classification'], 2, /Missing required flag table/),
  f('missing dataset path', ['dataset', 'push', '--table', 'x'], 2, /Missing 1 required arg/),
  f('unknown flag', img(['--bogus']), 2, /Nonexistent flag: --bogus/),
  f('unknown category', push(['--category', 'mind_reading']), 2, /isn't a recognized category/),
  f('bad --intent', img(['--intent', 'deploy']), 2, /Expected --intent=deploy to be one of/),
  f('--target-size 0x5', img(['--target-size', '0x5']), 2, /--target-size "0x5" is not WxH/),
  f('--target-size abc', img(['--target-size', 'abc']), 2, /--target-size "abc" is not WxH/),
  f('--target-size 10x', img(['--target-size', '10x']), 2, /is not WxH/),
  f('--min-size -1x2', img(['--min-size=-1x2']), 2, /--min-size "-1x2" is not WxH/),
  f('--target-size of 10,000 characters', img(['--target-size', '9'.repeat(10_000)]), 2, /characters in all/),
  f('--parallel 0', img(['--parallel', '0']), 2, /Expected an integer greater than or equal to 1/),
  f('--parallel 17', img(['--parallel', '17']), 2, /Expected an integer less than or equal to 16/),
  f('--parallel abc', img(['--parallel', 'abc']), 2, /Expected an integer/),
  f('bad --compress', img(['--compress', 'max']), 2, /Expected --compress=max to be one of/),
  f('bad --bwlimit', img(['--bwlimit', '8Mb']), 2, /--bwlimit: "8Mb": unknown unit "Mb"; use a number and a unit per second/),
  f('bad --idempotency-key', img(['--idempotency-key', 'not a key!']), 2, /--idempotency-key must be a valid label value/),
  f('--idempotency-key of 64 characters', img(['--idempotency-key', 'k'.repeat(64)]), 2, /--idempotency-key must be a valid label value/),
  f('bad --image-digest', img(['--image-digest', 'sha256:abc']), 2, /--image-digest must be sha256:<64 lowercase hex>/),
  f('image digest as a tag', img(['--image-digest', 'latest']), 2, /tags are not accepted/),
  f('--schema on an image dataset', img(['--schema', 'a:INT']), 2, /--schema doesn't apply to image_classification/),
  f('--number-of-keypoints 0', push(['--category', 'keypoint_detection', '--number-of-keypoints', '0']), 2, /Expected an integer greater than or equal to 1/),
  f('keypoints without --number-of-keypoints', push(['--category', 'keypoint_detection']), 2, /needs --number-of-keypoints/),
  f('bad --label-policy', tab(['--label-policy', 'shuffle']), 2, /Expected --label-policy=shuffle to be one of/, TABULAR),
  f('empty --label-column', img(['--label-column', '']), 2, /--label-column is empty/),
  f('empty --time-column', push(['--category', 'time_to_event_prediction', '--time-column', ' '], '$D/data.csv'), 2, /--time-column is empty/, TABULAR),
  f('--schema carrying SQL', tab(['--schema', 'age:INT); DROP TABLE users; --']), 2, /--schema .*has a "\)" without its "\("/, TABULAR),
  f('--schema unbalanced parenthesis', tab(['--schema', 'age:DECIMAL(10,2']), 2, /has a "\(" that is never closed/, TABULAR),
  f('--schema VARCHAR(0)', tab(['--schema', 'age:INT,plan:VARCHAR(0),label:VARCHAR(3)']), 2, /"plan": "VARCHAR\(0\)" is not a valid SQL type/, TABULAR),
  f('--schema unknown type', tab(['--schema', 'age:MONEY']), 2, /unknown SQL type "MONEY"/, TABULAR),
  f('--schema type with a clause', tab(['--schema', 'age:INT DEFAULT 1']), 2, /"INT DEFAULT 1" is not a valid SQL type/, TABULAR),
  f('--schema type with an attribute', tab(['--schema', 'age:INT NOTNULL']), 2, /only UNSIGNED, SIGNED or ZEROFILL may follow INT/, TABULAR),
  f('--schema without a type', tab(['--schema', 'age:']), 2, /is not col:TYPE/, TABULAR),
  f('--schema without a column', tab(['--schema', ':INT']), 2, /is not col:TYPE/, TABULAR),
  f('--schema naming a column twice', tab(['--schema', 'age:INT,age:INT']), 2, /names column "age" twice/, TABULAR),
  f('--schema column with a backtick', tab(['--schema', 'a`ge:INT']), 2, /no backticks or control characters/, TABULAR),
  f('--schema only commas', tab(['--schema', ',,,']), 2, /--schema is empty/, TABULAR),
  f('--schema of 100,000 characters', tab(['--schema', 'age:' + 'X'.repeat(100_000)]), 2, /characters in all/, TABULAR),
]

const d = (name: string, files: Files, code: number, message: RegExp, extra: Partial<LocalCase> = {}): LocalCase => ({name: `dataset: ${name}`, files, args: [...img(), ...NOKC], code, message, ...extra})
const csvOf = (rows: string) => ({...IMAGES, 'labels.csv': 'filename,label\n' + rows})

export const DATASET_CASES: LocalCase[] = [
  d('path does not exist', {}, 3, /does not exist|not found|no such/i, {args: ['dataset', 'push', '$D/nope', '--table', 't', '--category', 'image_classification', ...NOKC]}),
  d('empty folder', {'x/': ''}, 3, /no \.csv file/, {args: ['dataset', 'push', '$D/x', '--table', 't', '--category', 'image_classification', ...NOKC]}),
  d('no images/ folder', {'labels.csv': 'filename,label\na.png,cat\n'}, 3, /missing images\/ folder/),
  d('images/ is a file', {'labels.csv': 'filename,label\na.png,cat\n', images: 'x'}, 3, /is not a folder/),
  d('empty CSV', {...IMAGES, 'labels.csv': ''}, 3, /empty|no header|no rows/i),
  d('CSV with a header only', csvOf(''), 3, /no (data )?rows|empty/i),
  d('CSV not UTF-8', {...IMAGES, 'labels.csv': Buffer.concat([Buffer.from('filename,label\na.png,c'), Buffer.from([0xff, 0xfe]), Buffer.from('\nb.png,dog\n')])}, 3, /UTF-8/),
  d('CSV with a NUL byte', {...IMAGES, 'labels.csv': 'filename,label\na.png,c\u0000t\nb.png,dog\n'}, 3, /NUL/),
  d('CSV with an unterminated quote', csvOf('a.png,"cat\nb.png,dog\n'), 3, /quote/i),
  d('CSV row wider than the header', csvOf('a.png,cat,extra\nb.png,dog\n'), 3, /more fields than the header/),
  d('CSV row of 3 million fields', csvOf('a.png,cat\n' + 'x,'.repeat(3_000_000) + '\nb.png,dog\n'), 3, /3000001 fields/),
  d('CSV row longer than 16 MiB (a quote never closed)', csvOf('a.png,cat\nb.png,"dog' + 'x'.repeat(17 << 20) + '\n'), 3, /line 3 of "labels\.csv" is longer than 16 MiB/),
  d('CSV filename cell of 10 MB', csvOf(`${'f'.repeat(10_000_000)}.png,cat\na.png,cat\nb.png,dog\n`), 3, /characters in all/),
  d('CSV header cell of 10 MB', {...IMAGES, 'labels.csv': `filename,${'h'.repeat(10_000_000)}\na.png,cat\nb.png,dog\n`}, 2, /characters in all/),
  d('no filename column', {...IMAGES, 'labels.csv': 'file,label\na.png,cat\nb.png,dog\n'}, 3, /no "filename" column/),
  d('label column missing', {...IMAGES, 'labels.csv': 'filename,kind\na.png,cat\nb.png,dog\n'}, 2, /label column "label" not found/),
  d('a referenced image is missing', csvOf('a.png,cat\nb.png,dog\nc.png,cat\n'), 3, /reference images that are not in images\/: "c\.png"/),
  d('image name with a newline', {...csvOf('"a\n.png",cat\nb.png,dog\n'), 'images/a\n.png': png, 'images/a.png': undefined as unknown as Buffer}, 3, /file name\(s\) the ingestor cannot take \(a control character/),
  d('image name with a backslash', {...csvOf('a\\b.png,cat\nb.png,dog\n'), 'images/a\\b.png': png}, 3, /cannot take \(a backslash\)/),
  d('image name with a control character', {...csvOf('a\u0001.png,cat\nb.png,dog\n'), 'images/a\u0001.png': png}, 3, /cannot take \(a control character/),
  d('unsupported image type only', {'labels.csv': 'filename,label\na.bmp,cat\nb.bmp,dog\n', 'images/a.bmp': 'BM', 'images/b.bmp': 'BM'}, 3, /\.bmp is not a type the ingestor takes/),
  d('a row naming an unsupported image type', {...csvOf('a.png,cat\nb.png,dog\nc.gif,cat\n'), 'images/c.gif': 'GIF8'}, 3, /\.gif is not an image type the ingestor takes/),
  d('mixed image types', {...csvOf('a.png,cat\nb.jpg,dog\n'), 'images/b.jpg': Buffer.from([0xff, 0xd8, 0xff])}, 3, /mix file types/),
  d('mixed resolutions', {...IMAGES, 'images/b.png': pngHeader(16, 16)}, 3, /resolution|size/i),
  d('an image that is not a PNG', {...IMAGES, 'images/b.png': 'not a png at all'}, 3, /can't be ingested|not a valid|unreadable|corrupt/i),
  d('a zero-byte image', {...IMAGES, 'images/b.png': ''}, 3, /can't be ingested|empty|zero/i),
  d('an image that is a folder', {...csvOf('a.png,cat\nb.png,dog\n'), 'images/b.png': undefined as unknown as Buffer, 'images/b.png/': ''}, 3, /"b\.png"|b\.png\//),
  d('a symlinked image', {...csvOf('a.png,cat\nb.png,dog\n'), 'images/b.png': undefined as unknown as Buffer}, 3, /symbolic link/, {links: [['images/b.png', 'a.png']]}),
  d('one class only', csvOf('a.png,cat\nb.png,cat\n'), 3, /needs at least 2 distinct values in label column "label"/),
  d('unreadable image', IMAGES, 3, /cannot read|can't be ingested.*EACCES|permission denied/, {unreadable: ['images/a.png']}),
  d('unreadable images/ folder', IMAGES, 3, /cannot read ".*images": permission denied/, {unreadable: ['images']}),
  d('unreadable CSV', IMAGES, 3, /cannot read ".*labels\.csv": permission denied/, {unreadable: ['labels.csv']}),
  d('two CSVs, none named labels.csv', {...IMAGES, 'labels.csv': undefined as unknown as Buffer, 'a.csv': 'filename,label\na.png,cat\n', 'b.csv': 'filename,label\n'}, 3, /labels\.csv/),
  d('tabular value not matching its --schema type', TABULAR, 3, /INT|integer|not a number/i, {args: [...tab(['--schema', 'age:INT,plan:INT,label:VARCHAR(3)']), ...NOKC]}),
  d('time series without a timestamp column', TABULAR, 3, /needs a "timestamp" column/, {args: [...push(['--category', 'time_series_forecasting'], '$D/data.csv'), ...NOKC]}),
  d('text dataset without texts/', {'labels.csv': 'filename,label\na.txt,x\n'}, 3, /missing texts\/ folder/, {args: [...push(['--category', 'text_classification']), ...NOKC]}),
]

// ---- kubeconfig: a valid dataset, then the kubeconfig fails (no cluster is reachable or contacted) ----
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb2J1c3QifQ.c2lnbmF0dXJlLXJvYnVzdA'
const BOOTSTRAP = 'r0bust.0123456789r0bust'
const PASSWORD = 'robust-p4ssw0rd'
const kubeconfig = (server: string, extra = '') =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${server}"}\nusers:\n- name: u\n  user: {token: "${TOKEN}"}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: tracebloc}\ncurrent-context: x\n${extra}`
const k = (name: string, files: Files, extraArgs: string[], code: number, message: RegExp, env?: Record<string, string>): LocalCase => ({
  name: `kubeconfig: ${name}`,
  files: {...IMAGES, ...files},
  args: [...img(), ...extraArgs],
  code,
  message,
  env,
})

export const KUBECONFIG_CASES: LocalCase[] = [
  k('--kubeconfig names a missing file', {}, ['--kubeconfig', '$D/nope'], 3, /loading kubeconfig: .*does not exist/),
  k('--kubeconfig is a folder', {'kc/': ''}, ['--kubeconfig', '$D/kc'], 3, /loading kubeconfig/),
  k('kubeconfig is not YAML', {kc: '{{{ not yaml'}, ['--kubeconfig', '$D/kc'], 3, /loading kubeconfig/),
  k('kubeconfig is empty', {kc: ''}, ['--kubeconfig', '$D/kc'], 3, /kubeconfig/),
  k('kubeconfig without a current context', {kc: kubeconfig('https://127.0.0.1:1').replace('current-context: x\n', '')}, ['--kubeconfig', '$D/kc'], 3, /no current context/),
  k('--context not in the kubeconfig', {kc: kubeconfig('https://127.0.0.1:1')}, ['--kubeconfig', '$D/kc', '--context', 'nope'], 3, /context "nope" not found/),
  k('API server unreachable (token never shown)', {kc: kubeconfig('https://127.0.0.1:1')}, ['--kubeconfig', '$D/kc'], 3, /cannot reach the Kubernetes API server/),
  k('server URL is not a URL', {kc: kubeconfig('not a url')}, ['--kubeconfig', '$D/kc'], 3, /kubeconfig|cannot reach|Invalid URL/i),
  k('KUBECONFIG names missing files', {}, [], 3, /loading kubeconfig/, {KUBECONFIG: '/nonexistent/a:/nonexistent/b', HOME: '/nonexistent-home'}),
  // a YAML error next to a credential: reason and position only, never the lines around it
  k('kubeconfig broken right after a bootstrap token', {kc: kubeconfig('https://127.0.0.1:1').replace(`user: {token: "${TOKEN}"}`, `user:\n    token: ${BOOTSTRAP}\n   bad: x`)}, ['--kubeconfig', '$D/kc'], 3, /not valid YAML: bad indentation .* at line 10, column 4/),
  k('kubeconfig broken right after a password', {kc: kubeconfig('https://127.0.0.1:1').replace(`user: {token: "${TOKEN}"}`, `user:\n    username: admin\n    password: ${PASSWORD}\n  - x`)}, ['--kubeconfig', '$D/kc'], 3, /not valid YAML: .* at line \d+, column \d+/),
  k('server URL with user:password, unreachable', {kc: kubeconfig(`https://admin:${PASSWORD}@127.0.0.1:1`)}, ['--kubeconfig', '$D/kc'], 3, /cannot reach the Kubernetes API server https:\/\/\[REDACTED\]@127\.0\.0\.1:1/),
]

export const TOKENS = [TOKEN, BOOTSTRAP, PASSWORD]
