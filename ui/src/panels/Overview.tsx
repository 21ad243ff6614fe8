// Overview: connections against max, TPS/QPS, latency, WAL, checkpoints, open alerts, blocking
// chains with wait times, long transactions, advisories, and the last hour's charts. A lost
// pg_monitor or a role that could write is said first; stale workload figures are marked.
import { useState } from "react";
import type { Schemas } from "../api";
import { Meter, Severity, Stat } from "../components/Bits";
import { Chart } from "../components/Chart";
import { DataTable } from "../components/DataTable";
import { Empty, Panel } from "../components/Panel";
import { ago, bytes, duration, isNum, num, ratio } from "../format";
import { useApi } from "../refresh";



export type Overview = Schemas["OverviewResponse"];

type Checkpoints = Schemas["CheckpointStats"];

/** Totals are since the stats reset; the ratio and interval cover the sliding window only. */
function checkpointHint(cp: Checkpoints): string {
  const window = isNum(cp.window_seconds) ? ` over the last ${duration(cp.window_seconds)}` : "";
  if (!isNum(cp.requested_ratio)) return `timed / requested since stats reset · too few checkpoints${window} for a ratio`;
  const every = isNum(cp.mean_interval_seconds) ? ` · every ${duration(cp.mean_interval_seconds)}` : "";
  return `timed / requested since stats reset · ${ratio(cp.requested_ratio)} requested${window}${every}`;
}

type DatabaseIncidents = Schemas["DatabaseIncidents"];

function deadlockTotal(dbs: DatabaseIncidents[]): number {
  return dbs.reduce((sum, d) => sum + d.deadlocks_total, 0);
}

/** Which databases had new deadlocks (or recovery conflicts) since the previous workload run. */
function deadlockHint(dbs: DatabaseIncidents[]): string {
  const fresh = dbs.filter((d) => (d.new_deadlocks ?? 0) > 0).map((d) => `${num(d.new_deadlocks)} new in ${d.database}`);
  const conflicts = dbs.reduce((sum, d) => sum + d.conflicts_total, 0);
  const parts = [fresh.length ? fresh.join(", ") : "none new since the last run", "since stats reset"];
  if (conflicts > 0) parts.push(`${num(conflicts)} recovery conflicts`);
  return parts.join(" · ");
}

/** Mean latency comes from pg_stat_statements, p95/p99 from pg_stat_monitor. */
function latencyHint(o: Overview): string {
  const l = o.latency;
  if (!l) return o.workload_collected_at ? "not collected this run" : "no workload snapshot yet";
  const mean = !isNum(l.mean_seconds) && o.statements_available === false ? "mean needs pg_stat_statements · " : "";
  if (isNum(l.p95_seconds) || isNum(l.p99_seconds)) return `${mean}p95 ${duration(l.p95_seconds)} · p99 ${duration(l.p99_seconds)}`;
  if (l.percentiles_error) return `${mean}p95/p99 failed: ${l.percentiles_error}`;
  return `${mean}p95/p99 need pg_stat_monitor`;
}

type History = Schemas["HistoryResponse"];

export function OverviewPanel() {
  const overview = useApi<Overview>("api/v1/overview");
  const history = useApi<History>("api/v1/history");
  const o = overview.data;
  return (
    <Panel
      id="overview"
      title="Overview"
      loading={overview.loading}
      error={overview.error}
      status={overview.status}
      sectionErrors={o?.errors}
      collectedAt={o?.collected_at} stale={o?.stale}
      sql={o?.sql}
      hasData={o !== null}
    >
      {o && <OverviewBody o={o} history={history.data} historyError={history.error} />}
    </Panel>
  );
}

function OverviewBody({ o, history, historyError }: { o: Overview; history: History | null; historyError: string | null }) {
  const c = o.connections;
  const latency = o.latency;
  const cp = o.checkpoints;
  const ws = o.workload_stale;
  return (
    <>
      {o.write_access && (
        <p className="alert-note" role="alert" data-testid="write-access">
          <strong>Read-only promise at risk.</strong> {o.write_access} pgmon&apos;s own sessions stay read-only (default_transaction_read_only) and this
          stays flagged until the privilege is revoked.
        </p>
      )}
      {o.privileges_lost && (
        <p className="alert-note" role="alert" data-testid="privileges-lost">
          <strong>Figures incomplete.</strong> {o.privileges_lost}
        </p>
      )}
      {ws && (
        <p className="stale-note" role="status" data-testid="workload-stale">
          {/* The panel's own note already gives the reason when the hot path is stale for the same one. */}
          <strong>Workload figures stale.</strong> {ws !== o.stale && `${ws}. `}TPS, QPS, latency, WAL, checkpoints and deadlocks are the last ones read
          {o.workload_collected_at ? ` (${ago(o.workload_collected_at)})` : ""}, not current values.
        </p>
      )}
      <div className="stats">
        <Stat
          label="Connections"
          value={c ? `${num(c.connections)} / ${num(c.max_connections)}` : "—"}
          hint={c ? <Meter value={c.connections} max={c.max_connections} label="connections used of max_connections" /> : "not collected"}
        />
        <Stat stale={ws} label="TPS" value={num(o.tps, 1)} hint={o.tps === null ? "needs two workload samples" : "commits + rollbacks /s"} />
        <Stat
          stale={ws}
          label="QPS"
          value={num(o.qps, 1)}
          hint={o.statements_available === false ? "needs pg_stat_statements" : "statements /s"}
        />
        <Stat stale={ws} label="Latency (mean)" value={duration(latency?.mean_seconds)} hint={latencyHint(o)} />
        <Stat
          stale={ws}
          label="WAL"
          value={isNum(o.wal?.bytes_per_second) ? `${bytes(o.wal.bytes_per_second)}/s` : "—"}
          hint={o.wal ? (isNum(o.wal.bytes_total) ? `${bytes(o.wal.bytes_total)} written` : "no local WAL counter") : undefined}
        />
        <Stat
          stale={ws}
          label="Checkpoints"
          value={cp ? `${num(cp.timed_total)} / ${num(cp.requested_total)}` : "—"}
          hint={cp ? checkpointHint(cp) : undefined}
        />
        <Stat
          label="Blocked sessions"
          value={num(o.blocked_sessions)}
          hint={o.longest_blocked_seconds ? `longest ${duration(o.longest_blocked_seconds)}` : "none waiting"}
        />
        <Stat
          label="Longest transaction"
          value={duration(o.longest_transaction_seconds)}
          hint={o.longest_idle_in_transaction_seconds ? `idle in txn ${duration(o.longest_idle_in_transaction_seconds)}` : undefined}
        />
        <Stat stale={ws} label="Deadlocks" value={o.deadlocks ? num(deadlockTotal(o.deadlocks)) : "—"} hint={o.deadlocks ? deadlockHint(o.deadlocks) : undefined} />
        <Stat label="Canary round trip" value={duration(o.canary?.round_trip_seconds)} hint={o.server ? `PostgreSQL ${o.server.version}` : undefined} />
      </div>

      <Charts history={history} error={historyError} />

      <h3>Open alerts</h3>
      {o.open_alerts.length === 0 ? (
        <Empty>No open alerts.</Empty>
      ) : (
        <ul className="alerts">
          {o.open_alerts.map((a) => (
            <li key={a.dedupe_key}>
              <Severity severity={a.severity} /> <strong>{a.kind}</strong> {a.message}{" "}
              <span className="muted">
                {a.phase} since {ago(a.since)}
              </span>
            </li>
          ))}
        </ul>
      )}

      <h3>Blocking chains</h3>
      {!o.blocking_events ? (
        <Empty>{notCollected(o)}</Empty>
      ) : o.blocking_events.length === 0 ? (
        <Empty>No session is waiting for a lock.</Empty>
      ) : (
        <DataTable
          label="Blocking chains"
          rows={o.blocking_events}
          rowKey={(e) => `${e.blocked_pid}-${e.blocker_pid}`}
          initialSort={{ key: "wait", descending: true }}
          columns={[
            { key: "blocked", label: "Blocked pid", render: (e) => e.blocked_pid },
            { key: "blocker", label: "Blocker pid", render: (e) => e.blocker_pid },
            { key: "wait", label: "Waiting", numeric: true, render: (e) => duration(e.blocked_wait_seconds), sortValue: (e) => e.blocked_wait_seconds },
            { key: "state", label: "Blocker state", render: (e) => e.blocker_state },
            { key: "xact", label: "Blocker txn age", numeric: true, render: (e) => duration(e.blocker_xact_seconds), sortValue: (e) => e.blocker_xact_seconds },
            { key: "event", label: "Wait event", render: (e) => e.wait_event ?? "—" },
            { key: "db", label: "Database", render: (e) => e.database ?? "—" },
            { key: "blocked_q", label: "Blocked query", render: (e) => <QueryText text={e.blocked_query} /> },
            { key: "blocker_q", label: "Blocker query", render: (e) => <QueryText text={e.blocker_query} /> },
          ]}
        />
      )}

      <h3>Long and idle-in-transaction sessions</h3>
      {!o.long_transactions ? (
        <Empty>{notCollected(o)}</Empty>
      ) : o.long_transactions.length === 0 ? (
        <Empty>No open transactions.</Empty>
      ) : (
        <DataTable
          label="Long transactions"
          rows={o.long_transactions}
          rowKey={(t) => String(t.pid)}
          initialSort={{ key: "age", descending: true }}
          columns={[
            { key: "pid", label: "pid", render: (t) => t.pid },
            { key: "state", label: "State", render: (t) => <span className={t.state === "idle in transaction" ? "warn-text" : undefined}>{t.state}</span>, sortValue: (t) => t.state },
            { key: "age", label: "Txn age", numeric: true, render: (t) => duration(Math.max(0, t.xact_age_seconds)), sortValue: (t) => t.xact_age_seconds },
            { key: "state_age", label: "In state", numeric: true, render: (t) => duration(isNum(t.state_age_seconds) ? Math.max(0, t.state_age_seconds) : null), sortValue: (t) => t.state_age_seconds },
            { key: "user", label: "User", render: (t) => t.username ?? "—" },
            { key: "db", label: "Database", render: (t) => t.database ?? "—" },
            { key: "q", label: "Query", render: (t) => <QueryText text={t.query} /> },
          ]}
        />
      )}

      {o.temp_spill && o.temp_spill.length > 0 && (
        <>
          <h3>Temp spill</h3>
          <DataTable
            label="Temp spill by database"
            rows={o.temp_spill}
            rowKey={(t) => t.database}
            columns={[
              { key: "db", label: "Database", render: (t) => t.database },
              { key: "files", label: "Temp files", numeric: true, title: "created since the statistics were reset", render: (t) => num(t.temp_files), sortValue: (t) => t.temp_files },
              { key: "bytes", label: "Temp bytes", numeric: true, title: "written to temporary files since the statistics were reset", render: (t) => bytes(t.temp_bytes), sortValue: (t) => t.temp_bytes },
              { key: "rate", label: "Now", numeric: true, render: (t) => (t.temp_bytes_per_second === null ? "—" : `${bytes(t.temp_bytes_per_second)}/s`), sortValue: (t) => t.temp_bytes_per_second },
            ]}
          />
        </>
      )}

      {o.io && (
        <>
          <h3>I/O by backend type</h3>
          {!o.io.available ? (
            <Empty>{o.io.unavailable_reason}</Empty>
          ) : (
            <DataTable
              label="I/O by backend type"
              rows={o.io.by_backend}
              rowKey={(b) => b.backend_type}
              initialSort={{ key: "reads", descending: true }}
              columns={[
                { key: "backend", label: "Backend type", render: (b) => b.backend_type, sortValue: (b) => b.backend_type },
                { key: "reads", label: "Reads", numeric: true, title: "blocks read since the statistics reset (pg_stat_io)", render: (b) => num(b.reads), sortValue: (b) => b.reads },
                { key: "rps", label: "Reads/s", numeric: true, render: (b) => num(b.reads_per_second, 1), sortValue: (b) => b.reads_per_second },
                { key: "writes", label: "Writes", numeric: true, render: (b) => num(b.writes), sortValue: (b) => b.writes },
                { key: "wps", label: "Writes/s", numeric: true, render: (b) => num(b.writes_per_second, 1), sortValue: (b) => b.writes_per_second },
                { key: "extends", label: "Extends", numeric: true, render: (b) => num(b.extends), sortValue: (b) => b.extends },
                { key: "fsyncs", label: "Fsyncs", numeric: true, render: (b) => num(b.fsyncs), sortValue: (b) => b.fsyncs },
                { key: "hit", label: "Hit ratio", numeric: true, title: "hits / (hits + reads)", render: (b) => ratio(b.hit_ratio), sortValue: (b) => b.hit_ratio },
              ]}
            />
          )}
        </>
      )}

      <h3>Advisories</h3>
      {o.advisories.length === 0 ? (
        <Empty>Every recommended setting is in place.</Empty>
      ) : (
        <ul className="advisories">
          {o.advisories.map((a) => (
            <li key={a.code}>
              {a.message}. Fix: <code>{a.fix}</code>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Why a hot-path figure is missing: its section failed, or the loop has no snapshot at all. */
function notCollected(o: Overview): string {
  if (!o.collected_at) return "Not collected: the hot path has no current snapshot (see Agent health for why).";
  return "Not collected this run: see the section error above.";
}

export function QueryText({ text }: { text: string | null | undefined }) {
  if (text === null || text === undefined) {
    return (
      <span className="muted" title="security.redact_sql_text is on: the live text of sessions never leaves the agent">
        redacted
      </span>
    );
  }
  return <ClampedQuery text={text} />;
}

/** Long statements show three lines; a click shows the whole text. */
function ClampedQuery({ text }: { text: string }) {
  const [open, setOpen] = useState(false);
  return (
    <code className={open ? "query" : "query clamped"} title={open ? undefined : "Click to show the whole statement"} onClick={() => setOpen(!open)}>
      {text}
    </code>
  );
}

function Charts({ history, error }: { history: History | null; error: string | null }) {
  if (!history) return error ? <p className="error">History unavailable: {error}</p> : null;
  const hx = history.hot_path.map((p) => p.at);
  const wx = history.workload.map((p) => p.at);
  return (
    <div className="charts" data-window={history.window}>
      <Chart
        title={`Connections (last ${history.window})`}
        x={hx}
        series={[
          { label: "connections", values: history.hot_path.map((p) => p.connections), color: "#2563eb" },
          { label: "max", values: history.hot_path.map((p) => p.max_connections), color: "#9ca3af" },
        ]}
        format={(v) => num(v)}
        integer
      />
      <Chart title="TPS" x={wx} series={[{ label: "TPS", values: history.workload.map((p) => p.tps), color: "#059669" }]} format={(v) => num(v, 1)} />
      <Chart
        title="WAL rate"
        x={wx}
        series={[{ label: "WAL", values: history.workload.map((p) => p.wal_bytes_per_second), color: "#d97706" }]}
        format={(v) => `${bytes(v)}/s`}
      />
      <Chart
        title="Blocked sessions"
        x={hx}
        series={[{ label: "blocked", values: history.hot_path.map((p) => p.blocked_sessions), color: "#dc2626" }]}
        format={(v) => num(v)}
        integer
      />
    </div>
  );
}
