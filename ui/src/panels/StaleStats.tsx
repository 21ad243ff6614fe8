// Stale statistics: tables modified since an (auto)analyze older than the threshold, or with no
// analyze recorded since the statistics reset (their age a lower bound, "≥"), or never analyzed,
// with the ANALYZE to run.
import type { Envelope } from "../api";
import { Severity } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { duration, num } from "../format";
import { useApi } from "../refresh";

interface StaleTable {
  relation: string;
  modified_since_analyze: number;
  /** No analyze time recorded since the statistics reset: `stale_seconds` is a lower bound. */
  stale_seconds_lower_bound?: boolean;
  /** No analyze recorded and no planner statistics either. */
  never_analyzed: boolean;
  stale_seconds: number;
  severity: "warn" | "crit";
  fix: string;
}

const LOWER_BOUND_NOTE = "No analyze time recorded since the statistics were reset (or the server started): the real age is at least this.";

/** The age, "≥ age" when only a lower bound is known, and "(never analyzed)" without planner statistics. */
function StaleFor({ t }: { t: StaleTable }) {
  if (t.never_analyzed) {
    return <span title="No analyze recorded and no planner statistics: never analyzed. The age counts from the statistics reset (or the server start).">≥ {duration(t.stale_seconds)} (never analyzed)</span>;
  }
  if (t.stale_seconds_lower_bound) {
    return <span title={LOWER_BOUND_NOTE}>≥ {duration(t.stale_seconds)}</span>;
  }
  return <>{duration(t.stale_seconds)}</>;
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
            { key: "stale", label: "Stale for", numeric: true, title: "since the last (auto)analyze; ≥ marks a lower bound: no analyze time recorded since the statistics were reset", render: (t) => <StaleFor t={t} />, sortValue: (t) => t.stale_seconds },
            { key: "mod", label: "Rows changed since", numeric: true, render: (t) => num(t.modified_since_analyze), sortValue: (t) => t.modified_since_analyze },
            { key: "sev", label: "Severity", render: (t) => <Severity severity={t.severity} /> },
            { key: "fix", label: "Fix", render: (t) => <code>{t.fix}</code> },
          ]}
        />
      )}
    </Panel>
  );
}
