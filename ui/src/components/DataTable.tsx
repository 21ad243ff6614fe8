// A sortable table: click a header to sort by it, again to reverse. Wide tables scroll inside
// their own box, so a narrow screen never scrolls the whole page sideways.
import { useMemo, useState } from "react";

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => React.ReactNode;
  /** What sorting compares; columns without it are not sortable. */
  sortValue?: (row: T) => number | string | null | undefined;
  numeric?: boolean;
  title?: string;
}

interface Props<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  initialSort?: { key: string; descending: boolean };
  caption?: string;
  label?: string;
}

function compare(a: number | string | null | undefined, b: number | string | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

export function DataTable<T>({ columns, rows, rowKey, initialSort, caption, label }: Props<T>) {
  const [sort, setSort] = useState(initialSort ?? null);
  const sorted = useMemo(() => {
    const column = columns.find((c) => c.key === sort?.key);
    if (!sort || !column?.sortValue) return rows;
    const value = column.sortValue;
    const out = [...rows].sort((x, y) => {
      const c = compare(value(x), value(y));
      // Missing values stay last whichever way the column sorts.
      if (value(x) === null || value(x) === undefined || value(y) === null || value(y) === undefined) return c;
      return sort.descending ? -c : c;
    });
    return out;
  }, [rows, columns, sort]);
  const toggle = (key: string) =>
    setSort((s) => (s?.key === key ? { key, descending: !s.descending } : { key, descending: true }));
  return (
    <div className="table-wrap" role="region" aria-label={label ?? caption} tabIndex={0}>
      <table>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => {
              const active = sort?.key === c.key;
              const ariaSort = active ? (sort.descending ? "descending" : "ascending") : undefined;
              return (
                <th key={c.key} className={c.numeric ? "num" : undefined} aria-sort={ariaSort} title={c.title}>
                  {c.sortValue ? (
                    <button type="button" className="sort" onClick={() => toggle(c.key)}>
                      {c.label}
                      <span aria-hidden="true">{active ? (sort.descending ? " ▼" : " ▲") : ""}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.key} className={c.numeric ? "num" : undefined}>
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
