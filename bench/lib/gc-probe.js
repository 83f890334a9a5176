/**
 * Preload (`node --require`) for every backend the benchmark starts. On SIGUSR2 it runs a full
 * garbage collection and prints the process memory, so that the memory figures compare what the
 * backend retains rather than where the collector happened to be. It does nothing otherwise.
 */
"use strict"

const v8 = require("v8")
const vm = require("vm")

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc")

process.on("SIGUSR2", () => {
  gc()
  gc()
  const usage = process.memoryUsage()
  process.stdout.write(
    `[bench-gc] ${JSON.stringify({ at: Date.now(), rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external })}\n`
  )
})
