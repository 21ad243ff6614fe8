// Agent health: each loop's last run, duration against its budget, failures, skipped ticks
// and supervised restarts, the database's reachability, and every statement the agent runs.
import type { Health } from "../api";
import { Meter } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Panel } from "../components/Panel";
import { ago, duration, num } from "../format";
import { useApi, type ApiState } from "../refresh";
import { allStatements, type AllSql } from "./Alerts";

/** "900ms", "1s", "1m 30s" (humantime) -> seconds. */
export function parseHumantime(text: string): number | null {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  let matched = false;
  for (const part of text.trim().split(/\s+/)) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part);
    if (!m) return null;
    total += Number(m[1]) * units[m[2]];
    matched = true;
  }
  return matched ? total : null;
}

export function HealthPanel({ health }: { health: ApiState<Health> }) {
  const sql = useApi<AllSql>("api/v1/sql");
  const h = health.data;
  const loops = h ? Object.values(h.loops) : [];
  return (
    <Panel
      id="health"
      title="Agent health"
      loading={health.loading}
      error={health.error}
      status={health.status}
      sql={allStatements(sql.data)}
      sqlNote="Every statement the agent runs, by loop, in the variant chosen for this server version."
      hasData={h !== null}
    >
      {h && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <span className={`badge badge-${h.status === "ok" ? "ok" : h.status === "starting" ? "warn" : "crit"}`}>{h.status}</span>
            </dd>
            <dt>Database</dt>
            <dd>{h.database.reachable ? `reachable (PostgreSQL ${h.database.server_version ?? "?"})` : `unreachable: ${h.database.error ?? "no connection yet"}`}</dd>
            <dt>Uptime</dt>
            <dd>{duration(h.uptime_seconds)}</dd>
          </dl>
          <DataTable
            label="Loops"
            rows={loops}
            rowKey={(l) => l.name}
            columns={[
              { key: "name", label: "Loop", render: (l) => <code>{l.name}</code> },
              { key: "status", label: "Status", render: (l) => <span className={`badge badge-${l.status === "ok" ? "ok" : l.status === "starting" ? "warn" : "crit"}`}>{l.status}</span> },
              { key: "interval", label: "Every", render: (l) => l.interval },
              { key: "last", label: "Last run", render: (l) => ago(l.last_run_at) },
              {
                key: "duration",
                label: "Duration vs budget",
                render: (l) => {
                  const budget = parseHumantime(l.budget) ?? 0;
                  return (
                    <div className="bar-cell">
                      <Meter value={l.last_duration_seconds ?? 0} max={budget} label={`${l.name} duration against its budget`} warnAt={0.5} critAt={1} />
                      <span>
                        {duration(l.last_duration_seconds)} / {l.budget}
                      </span>
                    </div>
                  );
                },
              },
              { key: "runs", label: "Runs", numeric: true, render: (l) => num(l.runs_total) },
              { key: "errors", label: "Errors", numeric: true, render: (l) => num(l.errors_total) },
              { key: "fails", label: "Failing in a row", numeric: true, render: (l) => num(l.consecutive_failures) },
              { key: "restarts", label: "Restarts", numeric: true, render: (l) => num(l.restarts) },
              { key: "skipped", label: "Skipped ticks", numeric: true, render: (l) => num(l.skipped_ticks) },
              { key: "over", label: "Over budget", numeric: true, render: (l) => num(l.budget_overruns) },
              { key: "reason", label: "Why", render: (l) => l.reason ?? "" },
            ]}
          />
        </>
      )}
    </Panel>
  );
}
