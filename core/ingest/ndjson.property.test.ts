import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ndjsonItems } from './ndjson.js'

/** A line that is never JSON (and never blank): no JSON text starts with '#'. */
const garbage = fc.string({ maxLength: 40 }).map((s) => `#${s.replace(/[\r\n]/g, ' ')}`)

test('property: NDJSON of values and garbage lines gives each value back in order, each bad line as GW_DL_NOT_JSON with its line number', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.jsonValue().map((v) => ({ v })),
          garbage.map((g) => ({ g })),
        ),
        { maxLength: 30 },
      ),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
      (lines, eol, blankLines) => {
        const text = lines
          .map((l) => ('v' in l ? JSON.stringify(l.v) : l.g))
          .join(blankLines ? `${eol}  ${eol}` : eol)
        const items = ndjsonItems(text)
        assert.equal(items.length, lines.length, 'one item per non-blank line')
        items.forEach((item, i) => {
          const line = lines[i]!
          if ('v' in line) {
            assert.ok(item.ok)
            // JSON round trip (-0 becomes 0)
            assert.deepEqual(item.value, JSON.parse(JSON.stringify(line.v)))
          } else {
            assert.ok(!item.ok)
            assert.equal(item.code, 'GW_DL_NOT_JSON')
            const lineNo = blankLines ? 2 * i + 1 : i + 1
            assert.match(item.reason, new RegExp(`^line ${lineNo} is not JSON`))
          }
        })
      },
    ),
  )
})

test('property: any text splits without throwing; every item is a value or a GW_DL_NOT_JSON reject', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      for (const item of ndjsonItems(text)) {
        if (!item.ok) {
          assert.equal(item.code, 'GW_DL_NOT_JSON')
          assert.ok(item.raw.trim() !== '')
        }
      }
    }),
  )
})
