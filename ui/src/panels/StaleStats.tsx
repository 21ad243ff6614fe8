// Stale statistics as spec §6 defines them: a table changed in the last hour (the agent's own
// samples), by at least its autoanalyze trigger, not empty, whose last (auto)analyze is older
// than the threshold. The panel lists the Top-N stalest modified tables, stale or not, each with
// the verdict in words, so a DBA sees why a table does or does not alert.
import type { Schemas } from "../api";
import { Severity } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { duration, num } from "../format";
import { useApi } from "../refresh";

type StaleTable = Schemas["StaleTable"];

const LOWER_BOUND_NOTE =
  "No analyze time recorded: the age counts from when the agent first saw the table modified, or from the statistics reset if later. The real age is at least this.";

/** The age, "≥ age" when only a lower bound is known, and "(never analyzed)" without planner statistics. */
function StaleFor({ t }: { t: StaleTable }) {
  if (t.never_analyzed) {
    return <span title={`No analyze recorded and no planner statistics: never analyzed. ${LOWER_BOUND_NOTE}`}>≥ {duration(t.stale_seconds)} (never analyzed)</span>;
  }
  if (t.stale_seconds_lower_bound) {
    return <span title={LOWER_BOUND_NOTE}>≥ {duration(t.stale_seconds)}</span>;
  }
  return <>{duration(t.stale_seconds)}</>;
}

export function StaleStatsPanel() {
  const r = useApi<Schemas["StaleStatsResponse"]>("api/v1/stale-stats");
  const d = r.data;
  const rows = d?.stalest ?? d?.tables ?? null;
  const staleCount = d?.tables?.length ?? 0;
  return (
    <Panel id="stale-stats" title="Stale statistics" loading={r.loading} error={r.error} status={r.status} sectionErrors={sectionError("stale_stats", d?.error)} collectedAt={d?.collected_at} stale={d?.stale} sql={d?.sql} hasData={d !== null}>
      <p className="muted">
        Stale when all hold: modified in the last hour (from the agent's hourly samples), at least the table's autoanalyze trigger rows modified since the last analyze
        (<code>autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × reltuples</code>, reloptions first), not empty, and the last (auto)analyze older than{" "}
        <code>alerts.stats_stale_warn_hours</code>. The first run after the agent starts has no earlier sample and flags nothing.
      </p>
      {d && !rows && <Empty>Stale statistics not collected this run: see the section error above.</Empty>}
      {rows && rows.length === 0 && <Empty>No table was modified since its last analyze.</Empty>}
      {rows && rows.length > 0 && (
        <>
          <p>{staleCount === 0 ? "No table is stale." : `${staleCount} stale ${staleCount === 1 ? "table" : "tables"}.`} The stalest modified tables:</p>
          <DataTable
            label="Stale statistics"
            rows={rows}
            rowKey={(t) => t.relation}
            initialSort={{ key: "stale", descending: true }}
            columns={[
              { key: "relation", label: "Table", render: (t) => <code>{t.relation}</code>, sortValue: (t) => t.relation },
              { key: "stale", label: "Stale for", numeric: true, title: "since the last (auto)analyze; ≥ marks a lower bound: no analyze time recorded", render: (t) => <StaleFor t={t} />, sortValue: (t) => t.stale_seconds },
              { key: "mod", label: "Rows changed since", numeric: true, render: (t) => num(t.modified_since_analyze), sortValue: (t) => t.modified_since_analyze },
              { key: "trigger", label: "Autoanalyze trigger", numeric: true, render: (t) => num(Math.round(t.analyze_trigger)), sortValue: (t) => t.analyze_trigger },
              { key: "hour", label: "Changed last hour", numeric: true, title: "from the agent's samples; — until it has an earlier one", render: (t) => (t.modified_last_hour === null ? "—" : num(t.modified_last_hour)), sortValue: (t) => t.modified_last_hour ?? -1 },
              { key: "sev", label: "Severity", render: (t) => <Severity severity={t.severity} />, sortValue: (t) => (t.severity === "crit" ? 2 : t.severity === "warn" ? 1 : 0) },
              { key: "verdict", label: "Verdict", render: (t) => t.verdict },
              { key: "fix", label: "Fix", render: (t) => (t.severity ? <code>{t.fix}</code> : null) },
            ]}
          />
        </>
      )}
    </Panel>
  );
}
