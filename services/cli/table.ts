/** One column of a text table: its header, and whether its cells align right (numbers). */
export interface Column {
  header: string
  right?: boolean
}

/**
 * An aligned text table: the header, a rule, the rows, and (when given) a rule and the footer rows
 * (totals). Cells are padded to the widest of their column; columns are two spaces apart.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly string[][],
  footer: readonly string[][] = [],
): string {
  const all = [columns.map((c) => c.header), ...rows, ...footer]
  const widths = columns.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)))
  const line = (r: readonly string[]) =>
    columns
      .map((c, i) => {
        const cell = r[i] ?? ''
        const pad = ' '.repeat(widths[i]! - [...cell].length)
        return c.right ? pad + cell : cell + pad
      })
      .join('  ')
      .trimEnd()
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  const out = [line(all[0]!), rule, ...rows.map(line)]
  if (footer.length) out.push(rule, ...footer.map(line))
  return `${out.join('\n')}\n`
}
