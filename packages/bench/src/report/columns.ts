// Aligned text columns for the tables: numbers right-aligned under their
// header, text left-aligned; group titles (plain strings) between rows.
export function renderColumns(headers: readonly string[], body: readonly (string[] | string)[], right: ReadonlySet<number>): string[] {
  const rows = body.filter((r): r is string[] => Array.isArray(r));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [render(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((r) => (typeof r === 'string' ? r : render(r)))];
}

/** Group titles before the first row of each group. */
export function grouped<T extends { group: string; unit: string }>(items: readonly T[], row: (item: T) => string[]): (string[] | string)[] {
  const body: (string[] | string)[] = [];
  let group = '';
  for (const item of items) {
    if (item.group !== group) {
      group = item.group;
      body.push(`-- ${group}${item.unit === 'msgs/s' ? ' (msgs/s)' : ''}`);
    }
    body.push(row(item));
  }
  return body;
}
