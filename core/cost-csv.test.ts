import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toCsv } from './cost-csv.js'

test('CSV quotes separators, quotes and line breaks; CRLF line ends; null is empty', () => {
  const csv = toCsv(
    ['customer', 'cost_usd', 'delta_pct'],
    [
      { customer: "o'reilly, inc", cost_usd: 1.5, delta_pct: null },
      { customer: 'say "hi"\nthere', cost_usd: 0 },
    ],
  )
  assert.equal(csv, `customer,cost_usd,delta_pct\r\n"o'reilly, inc",1.5,\r\n"say ""hi""\nthere",0,\r\n`)
})

test('text a spreadsheet would run as a formula is defused; negative numbers stay numbers', () => {
  const csv = toCsv(['customer', 'delta_usd'], [{ customer: '=HYPERLINK("x")', delta_usd: -2 }])
  assert.equal(csv.split('\r\n')[1], `"'=HYPERLINK(""x"")",-2`)
})
