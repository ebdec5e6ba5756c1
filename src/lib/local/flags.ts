// Parsers for the push flags whose values have a grammar (for the command to call before planDataset).
import {quoteUser} from '../output/truncate.js'
import {SQL_TYPES, sqlTypeProblem} from '../schema/sql-type.js'
import {badInput} from './problems.js'

/** "256x256" → [256, 256] ([W,H], PIL order). */
export function parseSize(value: string, flag = '--target-size'): [number, number] {
  const m = /^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$/.exec(value)
  const w = m ? Number(m[1]) : NaN
  const h = m ? Number(m[2]) : NaN
  if (!m || w < 1 || h < 1) throw badInput(`${flag} ${quoteUser(value)} is not WxH with positive integers (e.g. 256x256)`, undefined, 'bad_flag')
  return [w, h]
}

/** "age:INT,price:DECIMAL(10,2)" → {age: 'INT', price: 'DECIMAL(10,2)'}; commas inside parentheses are kept. */
export function parseSchemaFlag(value: string): Record<string, string> {
  const parts: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of value) {
    if (ch === '(') depth++
    if (ch === ')' && --depth < 0) throw badInput(`--schema ${quoteUser(value)} has a ")" without its "("`, 'write types as TYPE or TYPE(n[,m]), e.g. age:INT,price:DECIMAL(10,2)', 'bad_flag')
    if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; continue }
    cur += ch
  }
  if (depth > 0) throw badInput(`--schema ${quoteUser(value)} has a "(" that is never closed`, 'write types as TYPE or TYPE(n[,m]), e.g. age:INT,price:DECIMAL(10,2)', 'bad_flag')
  parts.push(cur)
  const out: Record<string, string> = {}
  for (const p of parts) {
    if (p.trim() === '') continue
    const i = p.indexOf(':')
    const col = i > 0 ? p.slice(0, i).trim() : ''
    const type = i > 0 ? p.slice(i + 1).trim() : ''
    if (!col || !type) throw badInput(`--schema entry ${quoteUser(p.trim())} is not col:TYPE (e.g. age:INT,price:DECIMAL(10,2))`, undefined, 'bad_flag')
    if (col in out) throw badInput(`--schema names column ${quoteUser(col)} twice`, undefined, 'bad_flag')
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f`]/.test(col) || [...col].length > 64) throw badInput(`--schema column name ${quoteUser(col)} won't work as a column: at most 64 characters, no backticks or control characters`, undefined, 'bad_flag')
    const problem = sqlTypeProblem(type)
    if (problem) {
      throw badInput(
        problem.unknown ? `--schema ${quoteUser(col)}: unknown SQL type ${quoteUser(type)}` : `--schema ${quoteUser(col)}: ${quoteUser(type)} is not a valid SQL type: ${problem.why}`,
        `use one of ${SQL_TYPES.join(', ')}, with parameters where they take them (VARCHAR(255), DECIMAL(10,2))`,
        'bad_flag',
      )
    }
    out[col] = type
  }
  if (Object.keys(out).length === 0) throw badInput('--schema is empty — use col:TYPE,…', undefined, 'bad_flag')
  return out
}
