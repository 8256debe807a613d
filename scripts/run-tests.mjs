#!/usr/bin/env node
// Runs the compiled tests with node's test runner. Node 20's `--test` takes no globs, so we list files.
// Tiers: unit (`*.test.js` next to the code), integration (test/integration), e2e (test/e2e).
// Usage: node scripts/run-tests.mjs [unit|integration|e2e ...]
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = new URL('../dist/', import.meta.url).pathname
const tiers = process.argv.slice(2)
const want = (f) => {
  if (tiers.length === 0) return true
  const tier = f.includes('/test/integration/') ? 'integration' : f.includes('/test/e2e/') ? 'e2e' : 'unit'
  return tiers.includes(tier)
}
const files = []
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p)
    else if (name.endsWith('.test.js') && want(p)) files.push(p)
  }
}
walk(root)
files.sort()
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)')
  process.exit(1)
}
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, GATEWARDEN_TEST: '1' },
})
process.exit(res.status ?? 1)
