import { screen, within } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { OverviewPanel, type Overview } from "./Overview";

const base: Overview = {
  cluster: "prod",
  db: "app",
  collected_at: "2026-12-01T10:00:00Z",
  sql: [],
  errors: {},
  server: { version: "17.2", version_num: 170002, in_recovery: false, role: "monitor", extensions: [] },
  advisories: [],
  open_alerts: [],
  connections: { connections: 4, max_connections: 60, usage_ratio: 4 / 60, active: 3, idle: 0, idle_in_transaction: 1, superuser_reserved_connections: 3 },
  blocked_sessions: 0,
  longest_blocked_seconds: 0,
  blocking_events: [],
  longest_transaction_seconds: 0,
  longest_idle_in_transaction_seconds: 0,
  long_transactions: [],
  tps: 27.3,
  qps: 22.9,
  latency: { mean_seconds: 0.0042, p95_seconds: null, p99_seconds: null, percentiles_error: null },
  // 3 MiB/s: the agent sends bytes per second; the panel shows binary units, never "MB".
  wal: { bytes_per_second: 3 * 1048576, bytes_total: 34718657 },
  checkpoints: {
    timed_total: 0,
    requested_total: 1,
    requested_ratio: null,
    mean_interval_seconds: null,
    window_seconds: 29.4,
    buffers_written_total: 0,
    write_time_seconds_total: 0,
    sync_time_seconds_total: 0,
  },
  canary: { round_trip_seconds: 0.0005, explain_execution_seconds: null },
  temp_spill: [],
  statements_available: true,
  statements_unavailable_reason: null,
  workload_collected_at: "2026-12-01T10:00:00Z",
  workload_stale: null,
  workload_age_seconds: 12,
  privileges_lost: null,
  write_access: null,
  age_seconds: 3,
  stale: null,
  autovacuum: { workers_by_phase: {}, jobs: [] },
  database: { reachable: true, error: null, since: "2026-12-01T09:00:00Z" },
  loops: [],
  surges: [],
  deadlocks: [{ database: "app", deadlocks_total: 0, conflicts_total: 0, new_deadlocks: 0, new_conflicts: 0 }],
  io: {
    available: true,
    unavailable_reason: null,
    by_backend: [
      { backend_type: "client backend", reads: 1200, writes: 40, extends: 3, fsyncs: 0, hits: 8800, reads_per_second: 12.5, writes_per_second: null, hit_ratio: 0.88 },
    ],
  },
};

afterEach(() => vi.unstubAllGlobals());

function serve(overview: Overview) {
  // No /api/v1/history here: jsdom cannot draw uPlot's canvas, and the charts are not under test.
  stubFetch({ "api/v1/overview": { body: overview } });
  renderLive(<OverviewPanel />);
}

describe("OverviewPanel", () => {
  it("shows I/O per backend type with rates and the hit ratio, or why there is none", async () => {
    serve(base);
    const io = await screen.findByRole("region", { name: "I/O by backend type" });
    expect(io).toHaveTextContent("client backend");
    expect(io).toHaveTextContent("1,200");
    expect(io).toHaveTextContent("12.5");
    expect(io).toHaveTextContent("88.0 %");
    vi.unstubAllGlobals();
    serve({ ...base, io: { available: false, unavailable_reason: "pg_stat_io needs PostgreSQL 16; this server is 15", by_backend: [] } });
    expect(await screen.findByText("pg_stat_io needs PostgreSQL 16; this server is 15")).toBeInTheDocument();
  });

  it("shows the WAL rate in IEC bytes per second", async () => {
    serve(base);
    expect(await screen.findByText("3.0 MiB/s")).toBeInTheDocument();
    expect(screen.queryByText(/MB\/s/)).toBeNull();
    expect(screen.getByText("33.1 MiB written")).toBeInTheDocument();
  });

  it("counts deadlocks and names the databases with new ones", async () => {
    serve({
      ...base,
      deadlocks: [
        { database: "app", deadlocks_total: 7, conflicts_total: 0, new_deadlocks: 2, new_conflicts: 0 },
        { database: "billing", deadlocks_total: 1, conflicts_total: 3, new_deadlocks: 0, new_conflicts: 0 },
      ],
    });
    const stat = (await screen.findByText("Deadlocks")).closest(".stat") as HTMLElement;
    expect(within(stat).getByText("8")).toBeInTheDocument();
    expect(within(stat).getByText("2 new in app · since stats reset · 3 recovery conflicts")).toBeInTheDocument();
  });

  it("says a checkpoint ratio needs more checkpoints instead of printing dashes", async () => {
    serve(base);
    expect(await screen.findByText(/too few checkpoints over the last 29.4 s for a ratio/)).toBeInTheDocument();
    expect(screen.queryByText(/every —/)).toBeNull();
  });

  it("names the real reason a latency figure is missing", async () => {
    serve({
      ...base,
      statements_available: false,
      qps: null,
      latency: { mean_seconds: null, p95_seconds: null, p99_seconds: null, percentiles_error: "pg_stat_monitor: permission denied" },
    });
    expect(await screen.findByText("mean needs pg_stat_statements · p95/p99 failed: pg_stat_monitor: permission denied")).toBeInTheDocument();
  });

  it("never shows a negative session age", async () => {
    serve({
      ...base,
      long_transactions: [{ pid: 7, database: "app", username: "monitor", state: "active", xact_age_seconds: -2e-6, state_age_seconds: -3e-6, wait_event_type: null, query: "SELECT 1" }],
    });
    await screen.findByText("SELECT 1");
    const row = within(screen.getByRole("region", { name: "Long transactions" })).getAllByRole("row")[1];
    expect(within(row).queryByText(/^-/)).toBeNull();
    expect(within(row).getAllByText("0 µs")).toHaveLength(2);
  });

  it("says nothing about privileges or staleness when all is well", async () => {
    serve(base);
    await screen.findByText("3.0 MiB/s");
    expect(screen.queryByTestId("write-access")).toBeNull();
    expect(screen.queryByTestId("privileges-lost")).toBeNull();
    expect(screen.queryByTestId("workload-stale")).toBeNull();
    expect(document.querySelectorAll('.stat[data-stale="true"]')).toHaveLength(0);
  });

  it("puts a role that could write and a lost pg_monitor first, as alerts", async () => {
    const write = 'role "monitor" could write to the database it monitors (CREATE on schema public). Fix: REVOKE CREATE ON SCHEMA public FROM "monitor", PUBLIC;';
    const lost = 'role "monitor" lost pg_monitor while pgmon runs: other sessions\' states, queries and wait events are hidden, so session, transaction and blocking figures undercount. Fix: GRANT pg_monitor TO "monitor";';
    serve({ ...base, write_access: write, privileges_lost: lost });
    const writeNote = await screen.findByTestId("write-access");
    expect(writeNote).toHaveTextContent(`Read-only promise at risk. ${write} pgmon's own sessions stay read-only`);
    expect(writeNote).toHaveAttribute("role", "alert");
    expect(screen.getByTestId("privileges-lost")).toHaveTextContent(`Figures incomplete. ${lost}`);
    // Both come before the figures they qualify.
    const stats = document.querySelector(".stats")!;
    expect(writeNote.compareDocumentPosition(stats) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.getByTestId("privileges-lost").compareDocumentPosition(stats) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it("marks the workload figures stale, and only those", async () => {
    const reason = "database unreachable: connection refused";
    serve({ ...base, workload_stale: reason, workload_age_seconds: 300 });
    const note = await screen.findByTestId("workload-stale");
    expect(note).toHaveClass("stale-note");
    expect(note).toHaveTextContent(`Workload figures stale. ${reason}. TPS, QPS, latency, WAL, checkpoints and deadlocks are the last ones read`);
    const stale = [...document.querySelectorAll('.stat[data-stale="true"] .stat-label')].map((l) => l.textContent);
    expect(stale).toEqual(["TPS · stale", "QPS · stale", "Latency (mean) · stale", "WAL · stale", "Checkpoints · stale", "Deadlocks · stale"]);
    expect(screen.getByText("Connections").closest(".stat")).not.toHaveAttribute("data-stale");
    // The hot path itself is current: no panel-wide stale note.
    expect(screen.queryByText(/These figures are the last ones read/)).toBeNull();
  });

  it("does not repeat the reason when the hot path is stale for the same one", async () => {
    const reason = "database unreachable: connection refused";
    serve({ ...base, stale: reason, workload_stale: reason });
    expect(await screen.findByText(/These figures are the last ones read/)).toHaveTextContent(`Stale. ${reason}.`);
    const note = screen.getByTestId("workload-stale");
    expect(note).toHaveTextContent(/^Workload figures stale\. TPS, QPS, latency, WAL, checkpoints and deadlocks are the last ones read \(.+ ago\), not current values\.$/);
    expect(document.querySelectorAll('.stat[data-stale="true"]')).toHaveLength(6);
  });

  it("explains empty hot-path tables when the hot path has no snapshot", async () => {
    serve({ ...base, collected_at: null, connections: null, blocking_events: null, long_transactions: null, blocked_sessions: null });
    expect(await screen.findAllByText(/the hot path has no current snapshot/)).toHaveLength(2);
  });
});
