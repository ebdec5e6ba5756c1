// Preload for bench/startup.mjs (node --import): at exit, writes this process's CPU time (user +
// system, all threads, since the process started) to stderr as `__cpu_us <n>`. On a busy machine
// wall time measures the scheduler as much as the program; CPU time does not.
import {writeSync} from 'node:fs'

process.on('exit', () => {
  const {user, system} = process.cpuUsage()
  writeSync(2, `\n__cpu_us ${user + system}\n`)
})
