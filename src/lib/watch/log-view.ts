// How the ingestor's log reaches the task list. Its tqdm bar ("Ingesting records:  41%|████ | 240/576")
// arrives as one log line per update: on a terminal the bar is one line updated in place (the whole
// view is re-emitted with the latest bar last); off a terminal every line is printed once, and a bar
// line only when its percentage changed.
import {stripAnsi} from './banner.js'

const isBlank = (ch: string): boolean => ch.trim() === '' // the same characters as a regex \s
const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9'

/**
 * A tqdm bar line's label and percentage ("  Ingesting records:  41%|" → ["Ingesting records", "41"]),
 * or undefined. The "%|" must be the line's first "|"; before it come ":", blanks and 1–3 digits, and
 * before those the label (leading blanks dropped, at least one character). A scan rather than a regex:
 * the lines come from the cluster, and /^\s*([^|]+?):\s*(\d{1,3})%\|/ is quadratic on a long blank run.
 */
export function parseProgress(line: string): {label: string; percent: string} | undefined {
  const bar = line.indexOf('|')
  if (bar < 1 || line[bar - 1] !== '%') return undefined
  let d = bar - 1
  while (d > 0 && isDigit(line[d - 1])) d--
  const digits = bar - 1 - d
  if (digits < 1 || digits > 3) return undefined
  let colon = d
  while (colon > 0 && isBlank(line[colon - 1]!)) colon--
  colon-- // the ':' before the blanks
  if (colon < 1 || line[colon] !== ':') return undefined
  let start = 0
  while (start < colon - 1 && isBlank(line[start]!)) start++
  return {label: line.slice(start, colon), percent: line.slice(d, bar - 1)}
}

export class LogView {
  /** The lines so far joined by "\n", built by appending: re-joining every line on each update was quadratic. */
  private logged = ''
  private count = 0
  private bar?: string
  private lastBarKey?: string

  /** `emit` replaces the whole view when `live`, else prints one line. */
  constructor(
    private readonly emit: (text: string) => void,
    private readonly live: boolean,
  ) {}

  push(line: string): void {
    const m = parseProgress(stripAnsi(line))
    if (!this.live) {
      if (m) {
        const key = `${m.label} ${m.percent}`
        if (key === this.lastBarKey) return
        this.lastBarKey = key
      }
      this.emit(line)
      return
    }
    if (m) this.bar = line
    else {
      // The bar's last state stays in the log once other lines follow.
      if (this.bar !== undefined) this.append(this.bar)
      this.bar = undefined
      this.append(line)
    }
    this.emit(this.bar === undefined ? this.logged : this.count === 0 ? this.bar : `${this.logged}\n${this.bar}`)
  }

  private append(line: string): void {
    this.logged = this.count === 0 ? line : `${this.logged}\n${line}`
    this.count++
  }
}
