// Agent health: each loop's last run, duration against its budget, failures, skipped ticks,
// pool-busy runs and supervised restarts, the database's reachability (since when, how many
// failed runs), the role's write access or lost pg_monitor, the advisories with their fixes,
// and every statement the agent runs.
import { Fragment } from "react";
import type { DatabaseStatus, Health, LoopHealth } from "../api";
import { Meter } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel } from "../components/Panel";
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

/**
 * The degraded lines the facts show on their own rows (`read_only: …`, `privileges: …`), and
 * the rest that no row or loop of this panel already names (an unknown kind stays visible).
 */
export function splitDegraded(h: Health): { readOnly: string[]; privileges: string[]; other: string[] } {
  const out = { readOnly: [] as string[], privileges: [] as string[], other: [] as string[] };
  for (const line of h.degraded ?? []) {
    const at = line.indexOf(": ");
    const kind = at < 0 ? "" : line.slice(0, at);
    const reason = at < 0 ? line : line.slice(at + 2);
    if (kind === "read_only") out.readOnly.push(reason);
    else if (kind === "privileges") out.privileges.push(reason);
    // The Database row shows the database's error, the loop table each loop's reason.
    else if (kind === "database" && !h.database.reachable && h.database.error) continue;
    else if (kind in h.loops && h.loops[kind].reason) continue;
    else out.other.push(line);
  }
  return out;
}

/** When a state began: the time, and how long ago. */
function since(iso: string | null | undefined): React.ReactNode {
  if (!iso) return null;
  return (
    <span className="muted" title={iso}>
      {" "}
      since {iso} ({ago(iso)})
    </span>
  );
}

function DatabaseFact({ d }: { d: DatabaseStatus }) {
  if (d.reachable) {
    return (
      <>
        reachable (PostgreSQL {d.server_version ?? "?"}){since(d.since)}
      </>
    );
  }
  const runs = d.failed_runs ?? 0;
  return (
    <>
      <span className="crit-text">unreachable</span>: {d.error ?? "no connection yet"}
      {since(d.since)}
      {runs > 0 && <span className="muted"> · {runs === 1 ? "1 failed run" : `${num(runs)} failed runs in a row`}</span>}
    </>
  );
}

export function HealthPanel({ health }: { health: ApiState<Health> }) {
  const sql = useApi<AllSql>("api/v1/sql");
  const h = health.data;
  const loops = h ? Object.values(h.loops) : [];
  const degraded = h ? splitDegraded(h) : { readOnly: [], privileges: [], other: [] };
  const cost = databaseCost(loops);
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
            <dd data-testid="database-status">
              <DatabaseFact d={h.database} />
            </dd>
            {degraded.readOnly.map((reason) => (
              <Fragment key={reason}>
                <dt>Read-only</dt>
                <dd data-testid="read-only">
                  <span className="crit-text">at risk</span>: {reason} The agent's own sessions stay read-only (default_transaction_read_only).
                </dd>
              </Fragment>
            ))}
            {degraded.privileges.map((reason) => (
              <Fragment key={reason}>
                <dt>Privileges</dt>
                <dd data-testid="privileges">
                  <span className="crit-text">pg_monitor lost</span>: {reason}
                </dd>
              </Fragment>
            ))}
            {degraded.other.length > 0 && (
              <>
                <dt>Degraded</dt>
                <dd>
                  <ul className="plain">
                    {degraded.other.map((line) => (
                      <li key={line}>{line}</li>
                    ))}
                  </ul>
                </dd>
              </>
            )}
            <dt>Uptime</dt>
            <dd>{duration(h.uptime_seconds)}</dd>
            {cost && (
              <>
                <dt>Database time</dt>
                <dd data-testid="database-cost" title="time the agent's sessions had statements in flight, measured by the agent (loopback round trips included), at each loop's interval">
                  {duration(cost.secondsPerHour)} an hour ({cost.percentOfCore.toFixed(3)} % of one core)
                </dd>
              </>
            )}
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
              {
                key: "db",
                label: "DB time",
                numeric: true,
                title: "database time of the last completed run, and per hour at the loop's interval (mean of the last 10 runs)",
                render: (l) => (l.last_db_seconds == null ? "" : `${duration(l.last_db_seconds)} · ${duration(l.db_seconds_per_hour)}/h`),
              },
              { key: "runs", label: "Runs", numeric: true, render: (l) => num(l.runs_total) },
              { key: "errors", label: "Errors", numeric: true, render: (l) => num(l.errors_total) },
              { key: "fails", label: "Failing in a row", numeric: true, render: (l) => num(l.consecutive_failures) },
              { key: "restarts", label: "Restarts", numeric: true, render: (l) => num(l.restarts) },
              { key: "skipped", label: "Skipped ticks", numeric: true, render: (l) => num(l.skipped_ticks) },
              { key: "over", label: "Over budget", numeric: true, render: (l) => num(l.budget_overruns) },
              {
                key: "pool",
                label: "Pool busy",
                numeric: true,
                title: "runs that got no connection because the loop's own connection was still held by its previous run",
                render: (l) => <span className={l.pool_busy ? "warn-text" : undefined}>{num(l.pool_busy ?? 0)}</span>,
              },
              { key: "reason", label: "Why", render: (l) => l.reason ?? "" },
              {
                key: "sections",
                label: "Failed sections",
                title: "each section that failed in the last run, and why: a timeout, a query error with its SQLSTATE, a lost connection",
                render: (l) => sectionFailures(l),
              },
            ]}
          />
          {h.advisories && (
            <>
              <h3>Advisories</h3>
              {h.advisories.length === 0 ? (
                <Empty>Every recommended setting is in place.</Empty>
              ) : (
                <ul className="advisories">
                  {h.advisories.map((a) => (
                    <li key={a.code}>
                      {a.message}. Fix: <code>{a.fix}</code>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </>
      )}
    </Panel>
  );
}

/** "freshness: SQLSTATE 42501, blocking: timeout": the typed failures, one per section. */
/** The database time the agent costs an hour, summed over loops, and as a share of one core. */
export function databaseCost(loops: LoopHealth[]): { secondsPerHour: number; percentOfCore: number } | null {
  const known = loops.filter((l) => l.db_seconds_per_hour != null);
  if (known.length === 0) return null;
  const secondsPerHour = known.reduce((sum, l) => sum + (l.db_seconds_per_hour ?? 0), 0);
  return { secondsPerHour, percentOfCore: (100 * secondsPerHour) / 3600 };
}

export function sectionFailures(l: LoopHealth): string {
  return Object.entries(l.section_failures ?? {})
    .map(([section, e]) => {
      switch (e.kind) {
        case "query":
          return `${section}: SQLSTATE ${e.sqlstate}`;
        case "timeout":
          return `${section}: timeout`;
        case "connection_lost":
          return `${section}: connection lost`;
        case "client":
          return `${section}: unreadable answer`;
      }
    })
    .join(", ");
}
