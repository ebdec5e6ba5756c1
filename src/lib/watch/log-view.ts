// How the ingestor's log reaches the task list. Its tqdm bar ("Ingesting records:  41%|████ | 240/576")
// arrives as one log line per update: on a terminal the bar is one line updated in place (the whole
// view is re-emitted with the latest bar last); off a terminal every line is printed once, and a bar
// line only when its percentage changed.
import {stripAnsi} from './banner.js'

const PROGRESS = /^\s*([^|]+?):\s*(\d{1,3})%\|/

export class LogView {
  private readonly lines: string[] = []
  private bar?: string
  private lastBarKey?: string

  /** `emit` replaces the whole view when `live`, else prints one line. */
  constructor(
    private readonly emit: (text: string) => void,
    private readonly live: boolean,
  ) {}

  push(line: string): void {
    const m = PROGRESS.exec(stripAnsi(line))
    if (!this.live) {
      if (m) {
        const key = `${m[1]} ${m[2]}`
        if (key === this.lastBarKey) return
        this.lastBarKey = key
      }
      this.emit(line)
      return
    }
    if (m) this.bar = line
    else {
      // The bar's last state stays in the log once other lines follow.
      if (this.bar !== undefined) this.lines.push(this.bar)
      this.bar = undefined
      this.lines.push(line)
    }
    this.emit(this.bar === undefined ? this.lines.join('\n') : [...this.lines, this.bar].join('\n'))
  }
}
