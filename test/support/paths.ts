import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (the folder holding package.json), found from the compiled file's location. */
export const REPO_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url))
    dir = up
  }
  return dir
})()

/** Reads a JSON fixture under test/fixtures. */
export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', path), 'utf8')) as T
}
