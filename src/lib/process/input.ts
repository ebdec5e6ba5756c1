// Whether the CLI may ask a question on the terminal. `--no-input` (every command that talks to a
// cluster has it) says never: a question that needs an answer fails with its documented exit code.
let noInput = false

export function setNoInput(value: boolean): void {
  noInput = value
}

export function canPrompt(): boolean {
  return !noInput && Boolean(process.stdin.isTTY && process.stdout.isTTY)
}
