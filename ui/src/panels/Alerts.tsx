// Alerts: open alerts (pending and firing) and the recently resolved ones with start and end.
// Alerts are evaluated by the agent over the loops' snapshots; the SQL listed is every
// statement behind those snapshots.
import type { SqlUsed, Schemas } from "../api";
import { Severity } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel } from "../components/Panel";
import { ago, duration } from "../format";
import { useApi } from "../refresh";

type AlertsResponse = Schemas["AlertsResponse"];

export type AllSql = Schemas["SqlResponse"];

export function allStatements(sql: AllSql | null): SqlUsed[] {
  if (!sql) return [];
  return Object.entries(sql.loops).flatMap(([loop, list]) => list.map((s) => ({ collector: `${loop}.${s.collector}`, sql: s.sql })));
}

export function AlertsPanel() {
  const r = useApi<AlertsResponse>("api/v1/alerts");
  const sql = useApi<AllSql>("api/v1/sql");
  const d = r.data;
  return (
    <Panel
      id="alerts"
      title="Alerts"
      loading={r.loading}
      error={r.error}
      status={r.status}
      sql={allStatements(sql.data)}
      sqlNote="Alerts run no SQL of their own: the agent evaluates its rules over the loops' snapshots, which come from these statements."
      hasData={d !== null}
    >
      {d && (
        <>
          <h3>Open</h3>
          {d.open.length === 0 ? (
            <Empty>No open alerts. The agent watches: {d.kinds.join(", ")}.</Empty>
          ) : (
            <DataTable
              label="Open alerts"
              rows={d.open}
              rowKey={(a) => a.dedupe_key}
              initialSort={{ key: "since", descending: false }}
              columns={[
                { key: "sev", label: "Severity", render: (a) => <Severity severity={a.severity} />, sortValue: (a) => (a.severity === "crit" ? 2 : 1) },
                { key: "phase", label: "Phase", render: (a) => a.phase },
                { key: "kind", label: "Kind", render: (a) => <code>{a.kind}</code>, sortValue: (a) => a.kind },
                { key: "msg", label: "Message", render: (a) => a.message },
                { key: "since", label: "Since", render: (a) => ago(a.since), sortValue: (a) => a.since },
                { key: "key", label: "Dedupe key", render: (a) => <code>{a.dedupe_key}</code> },
              ]}
            />
          )}
          <h3>Recently resolved</h3>
          {d.recent.length === 0 ? (
            <Empty>Nothing resolved since the agent started.</Empty>
          ) : (
            <DataTable
              label="Resolved alerts"
              rows={d.recent}
              rowKey={(a) => `${a.dedupe_key}-${a.started}`}
              columns={[
                { key: "sev", label: "Severity", render: (a) => <Severity severity={a.severity} /> },
                { key: "kind", label: "Kind", render: (a) => <code>{a.kind}</code>, sortValue: (a) => a.kind },
                { key: "msg", label: "Message", render: (a) => a.message },
                { key: "start", label: "Started", render: (a) => a.started, sortValue: (a) => a.started },
                { key: "end", label: "Ended", render: (a) => `${a.ended} (${ago(a.ended)})`, sortValue: (a) => a.ended },
                { key: "for", label: "Lasted", numeric: true, render: (a) => duration((Date.parse(a.ended) - Date.parse(a.started)) / 1000) },
              ]}
            />
          )}
        </>
      )}
    </Panel>
  );
}
