// Stale statistics: tables modified since an (auto)analyze older than the threshold, or never
// analyzed, with the ANALYZE to run.
import type { Envelope } from "../api";
import { Severity } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { duration, num } from "../format";
import { useApi } from "../refresh";

interface StaleTable {
  relation: string;
  modified_since_analyze: number;
  never_analyzed: boolean;
  stale_seconds: number;
  severity: "warn" | "crit";
  fix: string;
}

export function StaleStatsPanel() {
  const r = useApi<Envelope & { tables: StaleTable[] | null }>("api/v1/stale-stats");
  const d = r.data;
  return (
    <Panel id="stale-stats" title="Stale statistics" loading={r.loading} error={r.error} status={r.status} sectionErrors={sectionError("stale_stats", d?.error)} collectedAt={d?.collected_at} stale={d?.stale} sql={d?.sql} hasData={d !== null}>
      {d && !d.tables && <Empty>Stale statistics not collected this run: see the section error above.</Empty>}
      {d?.tables && d.tables.length === 0 && <Empty>Every modified table has recent statistics.</Empty>}
      {d?.tables && d.tables.length > 0 && (
        <DataTable
          label="Stale statistics"
          rows={d.tables}
          rowKey={(t) => t.relation}
          initialSort={{ key: "stale", descending: true }}
          columns={[
            { key: "relation", label: "Table", render: (t) => <code>{t.relation}</code>, sortValue: (t) => t.relation },
            { key: "stale", label: "Stale for", numeric: true, title: "since the last (auto)analyze; for a never-analyzed table, how long statistics have been collected (a lower bound)", render: (t) => (t.never_analyzed ? `≥ ${duration(t.stale_seconds)} (never analyzed)` : duration(t.stale_seconds)), sortValue: (t) => t.stale_seconds },
            { key: "mod", label: "Rows changed since", numeric: true, render: (t) => num(t.modified_since_analyze), sortValue: (t) => t.modified_since_analyze },
            { key: "sev", label: "Severity", render: (t) => <Severity severity={t.severity} /> },
            { key: "fix", label: "Fix", render: (t) => <code>{t.fix}</code> },
          ]}
        />
      )}
    </Panel>
  );
}
