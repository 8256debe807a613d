import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { REPO_ROOT } from './paths.js'

/** Debian's chromium, installed by scripts/browser/install.sh (scripts/test-all.sh runs it). */
export const CHROMIUM = process.env.GATEWARDEN_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Flags for a closed network: without the background-networking ones Chromium's own calls home are
 * refused and it stalls; no sandbox because tests run as root.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Where the browser tests leave their screenshots (gitignored; CI keeps them as artefacts). */
export const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts')

/** A headless Chromium with a fresh profile; `close()` ends it and removes the profile. */
export interface TestBrowser {
  context: BrowserContext
  page(): Promise<Page>
  /** Saves a full-page screenshot as test/artifacts/<name>.png and returns its path. */
  screenshot(page: Page, name: string): Promise<string>
  close(): Promise<void>
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'gw-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  })
  mkdirSync(ARTIFACTS, { recursive: true })
  return {
    context,
    page: async () => {
      const p = await context.newPage()
      p.setDefaultTimeout(30_000)
      return p
    },
    screenshot: async (page, name) => {
      const path = join(ARTIFACTS, `${name}.png`)
      await page.screenshot({ path, fullPage: true })
      return path
    },
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
