// Autovacuum: per-table %dead, dead/live, time since the last (auto)vacuum/analyze, the
// autovacuum trigger, starvation verdicts and hints; workers by phase and vacuums running now.
import type { Schemas } from "../api";
import { Severity } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel } from "../components/Panel";
import { duration, num, pct } from "../format";
import { useApi } from "../refresh";



type AutovacuumResponse = Schemas["AutovacuumResponse"];

const since = (s: number | null) => (s === null ? "never" : `${duration(s)} ago`);

export function AutovacuumPanel() {
  const r = useApi<AutovacuumResponse>("api/v1/autovacuum");
  const d = r.data;
  return (
    <Panel id="autovacuum" title="Autovacuum" loading={r.loading} error={r.error} status={r.status} sectionErrors={d?.errors} collectedAt={d?.collected_at} stale={d?.stale} sql={d?.sql} hasData={d !== null}>
      {d && (
        <>
          <h3>Tables by dead tuples</h3>
          {!d.tables ? (
            <Empty>Table freshness not collected this run: see the section error above.</Empty>
          ) : d.tables.length === 0 ? (
            <Empty>No user tables with statistics yet.</Empty>
          ) : (
            <DataTable
              label="Tables by dead tuples"
              rows={d.tables}
              rowKey={(t) => t.relation}
              initialSort={{ key: "dead", descending: true }}
              columns={[
                { key: "relation", label: "Table", render: (t) => <code>{t.relation}</code>, sortValue: (t) => t.relation },
                { key: "pct", label: "% dead", numeric: true, render: (t) => pct(t.pct_dead), sortValue: (t) => t.pct_dead },
                { key: "dead", label: "Dead", numeric: true, render: (t) => num(t.dead_tuples), sortValue: (t) => t.dead_tuples },
                { key: "live", label: "Live", numeric: true, render: (t) => num(t.live_tuples), sortValue: (t) => t.live_tuples },
                { key: "trigger", label: "Autovacuum at", numeric: true, title: "dead tuples that trigger autovacuum (threshold + scale factor × live)", render: (t) => num(t.autovacuum_trigger), sortValue: (t) => t.autovacuum_trigger },
                { key: "autovac", label: "Last autovacuum", numeric: true, render: (t) => since(t.last_autovacuum_seconds), sortValue: (t) => t.last_autovacuum_seconds },
                { key: "vac", label: "Last vacuum", numeric: true, render: (t) => since(t.last_vacuum_seconds), sortValue: (t) => t.last_vacuum_seconds },
                { key: "autoan", label: "Last autoanalyze", numeric: true, render: (t) => since(t.last_autoanalyze_seconds), sortValue: (t) => t.last_autoanalyze_seconds },
                { key: "an", label: "Last analyze", numeric: true, render: (t) => since(t.last_analyze_seconds), sortValue: (t) => t.last_analyze_seconds },
                { key: "starv", label: "Starvation", render: (t) => <Severity severity={t.starvation} />, sortValue: (t) => (t.starvation === "crit" ? 2 : t.starvation === "warn" ? 1 : null) },
                { key: "hint", label: "Hint", render: (t) => t.hint ?? "" },
              ]}
            />
          )}
          {!d.in_progress && (
            <>
              <h3>Running now</h3>
              <Empty>
                {d.errors?.autovacuum
                  ? "Running vacuums not collected this run: see the section error above."
                  : "Running vacuums come from the hot path, which has no snapshot yet."}
              </Empty>
            </>
          )}
          {d.in_progress && (
            <>
              <h3>Workers by phase</h3>
              <ul className="phases">
                {Object.entries(d.in_progress.workers_by_phase).map(([phase, n]) => (
                  <li key={phase} className={n > 0 ? "active" : undefined}>
                    {phase}: <strong>{n}</strong>
                  </li>
                ))}
              </ul>
              <h3>Running now</h3>
              {d.in_progress.jobs.length === 0 ? (
                <Empty>No vacuum is running.</Empty>
              ) : (
                <DataTable
                  label="Vacuums running now"
                  rows={d.in_progress.jobs}
                  rowKey={(j) => String(j.pid)}
                  columns={[
                    { key: "rel", label: "Table", render: (j) => j.relation ?? "—" },
                    { key: "phase", label: "Phase", render: (j) => j.phase },
                    { key: "auto", label: "Kind", render: (j) => (j.is_autovacuum ? "autovacuum" : "manual") },
                    { key: "progress", label: "Heap scanned", numeric: true, render: (j) => (j.heap_blks_total > 0 ? pct((100 * j.heap_blks_scanned) / j.heap_blks_total) : "—") },
                    { key: "running", label: "Running for", numeric: true, render: (j) => duration(j.running_seconds) },
                  ]}
                />
              )}
            </>
          )}
        </>
      )}
    </Panel>
  );
}
