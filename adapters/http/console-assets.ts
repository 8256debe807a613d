import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Content types of the files the console ships (anything else is not served). */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

/** One asset as the HTTP layer sends it. */
export interface Asset {
  type: string
  body: Buffer
}

/** Reads the console's static files; `undefined` for a path outside the folder or of an unknown type. */
export interface ConsoleAssets {
  /** A file under the console folder, by its path relative to it (`index.html`, `js/main.js`). */
  file(relPath: string): Promise<Asset | undefined>
  /** uPlot's ES module and stylesheet, served from the installed npm package (vendored, no CDN). */
  vendor(name: 'uplot.js' | 'uplot.css'): Promise<Asset | undefined>
}

/**
 * The repository (or installed package) root: the first folder above this file holding package.json.
 * Works from the source tree (`adapters/http/`) and from the build (`dist/adapters/http/`).
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`package.json not found above ${fileURLToPath(import.meta.url)}`)
    dir = up
  }
  return dir
}

/** The console's files: `console/` at the package root (plain ES modules and CSS, no build step). */
export function consoleAssets(root: string = join(packageRoot(), 'console')): ConsoleAssets {
  const cache = new Map<string, Asset>()
  const load = async (path: string): Promise<Asset | undefined> => {
    const hit = cache.get(path)
    if (hit) return hit
    const ext = path.slice(path.lastIndexOf('.'))
    const type = TYPES[ext]
    if (!type) return undefined
    const body = await readFile(path).catch(() => undefined)
    if (!body) return undefined
    const asset = { type, body }
    cache.set(path, asset)
    return asset
  }
  const require = createRequire(import.meta.url)
  const uplotDist = () => dirname(require.resolve('uplot'))
  return {
    file: (relPath) => {
      const full = normalize(join(root, relPath))
      // MUST stay inside the folder: `..` segments and absolute paths are refused
      if (!full.startsWith(root + sep)) return Promise.resolve(undefined)
      return load(full)
    },
    vendor: (name) => load(join(uplotDist(), name === 'uplot.js' ? 'uPlot.esm.js' : 'uPlot.min.css')),
  }
}
