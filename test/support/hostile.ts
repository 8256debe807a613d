import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import type { StoreClient } from '../../adapters/clickhouse/client.js'
import { rows } from './store.js'

/** `[[[[...]]]]` `depth` deep, as text (JSON.parse reads it; a recursive walk over it overflows the stack). */
export const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
/** `{"a":{"a":...}}` `depth` deep, as text. */
export const deepObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
/** A gzip body that inflates to `mb` MiB of zeros (a few KiB on the wire). */
export const gzipBomb = (mb: number): Buffer => gzipSync(Buffer.alloc(mb * 1024 * 1024))
/** `text` with two bytes that are never valid UTF-8 spliced in before `marker`. */
export const invalidUtf8 = (text: string, marker: string): Buffer => {
  const at = Buffer.byteLength(text.slice(0, text.indexOf(marker)))
  const b = Buffer.from(text)
  return Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xfe]), b.subarray(at)])
}

/**
 * The dead letters a store gained since the last call, by code: hostile cases run one after the other
 * against one store, and each case asserts exactly the codes it added.
 */
export function deadLetterDiff(store: StoreClient): () => Promise<string[]> {
  let seen = new Map<string, number>()
  return async () => {
    const now = new Map(
      (
        await rows<{ code: string; n: string }>(
          store,
          'SELECT code, toString(count()) AS n FROM {{db}}.dead_letters GROUP BY code',
        )
      ).map((r) => [r.code, Number(r.n)]),
    )
    const added: string[] = []
    for (const [code, n] of now) for (let i = seen.get(code) ?? 0; i < n; i++) added.push(code)
    seen = now
    return added.sort()
  }
}

/** Events stored under `ids`, each once. */
export async function storedIds(store: StoreClient, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const got = await rows<{ event_id: string }>(
    store,
    `SELECT event_id FROM {{db}}.requests WHERE event_id IN (${ids.map((i) => `'${i.replaceAll("'", '')}'`).join(',')}) ORDER BY event_id`,
  )
  return got.map((r) => r.event_id)
}

/** A 4xx answer that says why: a stable code and a message. */
export function assertClientError(status: number, body: string, code?: string): void {
  assert.ok(status >= 400 && status < 500, `expected a 4xx, got ${status}: ${body.slice(0, 300)}`)
  if (code) assert.ok(body.includes(code), `expected ${code} in ${body.slice(0, 300)}`)
}
