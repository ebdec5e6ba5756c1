// Colour only on a TTY and never when NO_COLOR is set (https://no-color.org) or TERM=dumb.
export function colorEnabled(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  if (process.env.TERM === 'dumb') return false
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true
  return Boolean(stream.isTTY)
}

const wrap = (open: number, close: number) => (s: string, stream?: NodeJS.WriteStream) =>
  colorEnabled(stream) ? `\u001B[${open}m${s}\u001B[${close}m` : s

export const style = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
}
