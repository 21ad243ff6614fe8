// Top queries: Top-N statements by total time, calls or shared blocks read (the agent ranks
// each), with normalized text when the agent allows it, else the queryid alone. With
// security.redact_sql_text on, the agent shows a statement's text only when it is safe (a
// planned statement with no quoted literal left, comments removed) and says why it is not.
import { useState } from "react";
import type { Schemas } from "../api";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { duration, num } from "../format";
import { useApi } from "../refresh";
import { QueryText } from "./Overview";

export type TopStatement = Schemas["TopStatement"];

export type Redacted = "utility_statement" | "quoted_literal" | "multiple_statements";

const WHY_REDACTED: Record<Redacted, string> = {
  utility_statement: "a utility statement (ALTER, SET, COPY, …): pg_stat_statements keeps its constants",
  quoted_literal: "a quoted literal is still in the text",
  multiple_statements: "more than one statement in the text",
};

export type TopQueriesResponse = Schemas["TopQueriesResponse"];

const RANKINGS = [
  { key: "by_total_time", label: "Total time", column: "total" },
  { key: "by_calls", label: "Calls", column: "calls" },
  { key: "by_shared_blks_read", label: "Blocks read", column: "read" },
] as const;

export function TopQueriesPanel() {
  const r = useApi<TopQueriesResponse>("api/v1/top-queries");
  const [ranking, setRanking] = useState<(typeof RANKINGS)[number]>(RANKINGS[0]);
  const d = r.data;
  const rows = d?.[ranking.key] ?? [];
  return (
    <Panel
      id="top-queries"
      title="Top queries"
      loading={r.loading}
      error={r.error}
      status={r.status}
      sectionErrors={sectionError("statements", d?.error)}
      collectedAt={d?.collected_at} stale={d?.stale}
      sql={d?.sql}
      hasData={d !== null}
    >
      {d && !d.available && d.error && (
        <Empty>No ranking this run: reading pg_stat_statements failed (see the section error above).</Empty>
      )}
      {d && !d.available && !d.error && (
        <Empty>
          <strong>pg_stat_statements is not available.</strong> {d.unavailable_reason ?? ""}
          <br />
          To enable it: set <code>shared_preload_libraries = 'pg_stat_statements'</code>, restart PostgreSQL, then run{" "}
          <code>CREATE EXTENSION pg_stat_statements;</code> in the monitored database.
        </Empty>
      )}
      {d && d.available && (
        <>
          <div className="toolbar" role="group" aria-label="Rank statements by">
            Rank by:
            {RANKINGS.map((k) => (
              <button key={k.key} type="button" aria-pressed={ranking.key === k.key} className={ranking.key === k.key ? "on" : undefined} onClick={() => setRanking(k)}>
                {k.label}
              </button>
            ))}
            <span className="muted">{num(d.statements_tracked)} statements tracked</span>
          </div>
          {d.redact_sql_text !== false && (
            <p className="muted" data-testid="redaction-rule">
              <code>security.redact_sql_text</code> is on: a statement's normalized text is shown only for SELECT, INSERT, UPDATE,
              DELETE, WITH, MERGE, VALUES and TABLE statements with no quoted literal left (<code>'…'</code>, <code>$$…$$</code>),
              comments removed. Utility statements (<code>ALTER ROLE … PASSWORD</code>, <code>SET</code>, …) and texts still
              carrying a literal show as redacted, with why on hover.
            </p>
          )}
          {rows.length === 0 ? (
            <Empty>No statements ranked by {ranking.label.toLowerCase()} yet.</Empty>
          ) : (
            <DataTable
              key={ranking.key}
              label={`Top statements by ${ranking.label}`}
              rows={rows}
              rowKey={(s) => `${s.database}-${s.queryid}`}
              initialSort={{ key: ranking.column, descending: true }}
              columns={[
                { key: "queryid", label: "queryid", render: (s) => <code>{s.queryid}</code> },
                { key: "db", label: "Database", render: (s) => s.database ?? "—" },
                { key: "calls", label: "Calls", numeric: true, render: (s) => num(s.calls), sortValue: (s) => s.calls },
                { key: "total", label: "Total time", numeric: true, render: (s) => duration(s.total_time_seconds), sortValue: (s) => s.total_time_seconds },
                { key: "mean", label: "Mean", numeric: true, render: (s) => duration(s.mean_time_seconds), sortValue: (s) => s.mean_time_seconds },
                { key: "rows", label: "Rows", numeric: true, render: (s) => num(s.rows), sortValue: (s) => s.rows },
                { key: "read", label: "Blocks read", numeric: true, render: (s) => num(s.shared_blks_read), sortValue: (s) => s.shared_blks_read },
                { key: "hit", label: "Blocks hit", numeric: true, render: (s) => num(s.shared_blks_hit), sortValue: (s) => s.shared_blks_hit },
                { key: "text", label: "Statement", render: (s) => <StatementText statement={s} /> },
              ]}
            />
          )}
        </>
      )}
    </Panel>
  );
}

/** The normalized text, or why there is none. */
function StatementText({ statement }: { statement: TopStatement }) {
  if (statement.query !== null && statement.query !== undefined) return <QueryText text={statement.query} />;
  if (statement.query_redacted) {
    return (
      <span className="muted" title={`Redacted: ${WHY_REDACTED[statement.query_redacted] ?? statement.query_redacted}`}>
        redacted
      </span>
    );
  }
  return (
    <span className="muted" title="pg_stat_statements had no text for it this run">
      —
    </span>
  );
}
