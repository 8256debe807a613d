/** Cells a spreadsheet would run as a formula start with one of these. */
const FORMULA = /^[=+\-@\t\r]/

function cell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return String(v)
  // text that a spreadsheet would evaluate is prefixed with ' (OWASP CSV injection); numbers stay numbers
  let s = String(v)
  if (FORMULA.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s
}

/** RFC 4180 CSV (CRLF line ends) of `rows` under the header `columns`; missing values are empty. */
export function toCsv(
  columns: readonly string[],
  rows: readonly Record<string, string | number | boolean | null | undefined>[],
): string {
  const lines = [columns.map(cell).join(',')]
  for (const r of rows) lines.push(columns.map((c) => cell(r[c])).join(','))
  return `${lines.join('\r\n')}\r\n`
}
