// "SQL used": the exact statements behind a panel, as the agent sent them to PostgreSQL
// (served from the collectors' own consts, in the variant picked for this server version).
import { useState } from "react";
import type { SqlUsed as Sql } from "../api";

export function SqlUsed({ sql, note }: { sql: Sql[] | undefined; note?: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const statements = sql ?? [];
  const copy = (s: Sql) => {
    void navigator.clipboard?.writeText(s.sql).then(() => setCopied(s.collector));
  };
  return (
    <details className="sql-used">
      <summary>
        SQL used ({statements.length} {statements.length === 1 ? "statement" : "statements"})
      </summary>
      {note && <p className="muted">{note}</p>}
      {statements.length === 0 && <p className="muted">No SQL: this view comes from the agent itself.</p>}
      {statements.map((s) => (
        <figure key={s.collector} className="sql">
          <figcaption>
            <code>{s.collector}</code>
            <button type="button" className="link" onClick={() => copy(s)}>
              {copied === s.collector ? "copied" : "copy"}
            </button>
          </figcaption>
          <pre>{s.sql.trim()}</pre>
        </figure>
      ))}
    </details>
  );
}
