import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_PY_DEPTH, parsePythonLiteral, type PyValue } from './python-literal.js'

const ok: Array<[string, PyValue]> = [
  ["{'customer': 'acme'}", { customer: 'acme' }],
  [
    "{'a': 1, 'b': -2.5, 'c': 1e-05, 'd': None, 'e': True, 'f': False}",
    { a: 1, b: -2.5, c: 1e-5, d: null, e: true, f: false },
  ],
  [
    "{'tags': ['customer:globex', 'endpoint:search'], 'n': {'x': [1, (2, 3)]}}",
    { tags: ['customer:globex', 'endpoint:search'], n: { x: [1, [2, 3]] } },
  ],
  [
    '{"json": true, "null": null, "n": 0.00022500000000000002}',
    { json: true, null: null, n: 0.00022500000000000002 },
  ],
  ["'it\\'s'", "it's"],
  ['"say \\"hi\\""', 'say "hi"'],
  ["'tab\\tnew\\nline \\\\ back'", 'tab\tnew\nline \\ back'],
  ["'\\x41\\u00e9\\U0001F600\\101'", 'Aé😀A'],
  ["'caf\u00e9 ☕'", 'café ☕'],
  ["b'bytes'", 'bytes'],
  ["r'raw\\n'", 'raw\\n'],
  ["'unknown \\q escape'", 'unknown \\q escape'],
  ['{}', {}],
  ['[]', []],
  ['()', []],
  ['(1,)', [1]],
  ['{1, 2}', [1, 2]],
  [
    "{1: 'int key', None: 'none key', True: 'bool key'}",
    { '1': 'int key', None: 'none key', true: 'bool key' },
  ],
  ['[1, 2, ]', [1, 2]],
  ['  {  "a" :  [ ]  }  ', { a: [] }],
  ['-inf', -Infinity],
  ['42', 42],
  [
    "{'requester_custom_headers': {'x-agent-name': 'nightly-summarizer'}}",
    { requester_custom_headers: { 'x-agent-name': 'nightly-summarizer' } },
  ],
]

test('parses Python literal reprs (and JSON)', () => {
  for (const [text, want] of ok) {
    const r = parsePythonLiteral(text)
    assert.ok(r.ok, `${text}: ${r.ok ? '' : r.reason}`)
    assert.deepEqual(r.value, want, text)
  }
  const nan = parsePythonLiteral('nan')
  assert.ok(nan.ok && Number.isNaN(nan.value))
})

test('rejects what is not a plain literal, without evaluating anything', () => {
  const bad = [
    "{'t': datetime.datetime(2024, 1, 1)}",
    '<object at 0x7f>',
    "{'a': 1",
    "{'a' 1}",
    "'unterminated",
    "{'a': 1} trailing",
    '1j',
    "{['list']: 1}",
    "'\\xZZ'",
    '',
    '__import__("os")',
  ]
  for (const text of bad) assert.equal(parsePythonLiteral(text).ok, false, text)
})

test('bounded nesting and no prototype pollution', () => {
  assert.equal(parsePythonLiteral('['.repeat(MAX_PY_DEPTH + 2) + ']'.repeat(MAX_PY_DEPTH + 2)).ok, false)
  assert.equal(parsePythonLiteral('['.repeat(10) + ']'.repeat(10)).ok, true)
  const r = parsePythonLiteral("{'__proto__': {'polluted': True}}")
  assert.ok(r.ok)
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  assert.deepEqual(Object.keys(r.value as object), ['__proto__'])
})
