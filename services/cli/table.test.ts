import { test } from 'node:test'
import assert from 'node:assert/strict'
import { renderTable } from './table.js'

test('columns align: text left, numbers right, footer under a rule', () => {
  const out = renderTable(
    [{ header: 'customer' }, { header: 'cost_usd', right: true }],
    [
      ['acme', '12.5000'],
      ["o'reilly", '0.2500'],
    ],
    [['total', '12.7500']],
  )
  assert.equal(
    out,
    [
      'customer  cost_usd',
      '--------  --------',
      'acme       12.5000',
      "o'reilly    0.2500",
      '--------  --------',
      'total      12.7500',
      '',
    ].join('\n'),
  )
})

test('wide characters count once; empty tables still print the header', () => {
  assert.equal(renderTable([{ header: 'a' }, { header: 'b' }], [['€€', 'x']]).split('\n')[2], '€€  x')
  assert.equal(renderTable([{ header: 'a' }], []), 'a\n-\n')
})
