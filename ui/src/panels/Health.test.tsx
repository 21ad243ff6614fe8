import { screen, within } from "@testing-library/react";
import type { Health, LoopHealth } from "../api";
import { useApi } from "../refresh";
import { renderLive, stubFetch } from "../test-support";
import { databaseCost, HealthPanel, sectionFailures, splitDegraded } from "./Health";

const loop = (name: LoopHealth["name"], extra: Partial<LoopHealth> = {}): LoopHealth => ({
  name,
  interval: "15s",
  budget: "1s",
  last_run_at: "2026-12-01T10:00:00Z",
  last_success_at: "2026-12-01T10:00:00Z",
  last_duration_seconds: 0.01,
  last_db_seconds: 0.004,
  db_seconds_per_hour: 0.96,
  last_run_ok: true,
  last_error: null,
  section_errors: {},
  section_failures: {},
  consecutive_failures: 0,
  runs_total: 10,
  errors_total: 0,
  restarts: 0,
  skipped_ticks: 0,
  budget_overruns: 0,
  pool_busy: 0,
  last_failure_kind: null,
  next_run_due: null,
  status: "ok",
  reason: null,
  ...extra,
});

const healthy: Health = {
  status: "ok",
  cluster: "prod",
  db: "app",
  database: { reachable: true, error: null, since: "2026-12-01T09:00:00Z", failed_runs: 0, server_version: "17.2" },
  degraded: [],
  advisories: [],
  loops: { hot_path: loop("hot_path"), storage: loop("storage", { interval: "10m", budget: "10s" }) },
  uptime_seconds: 3600,
  detail: "full",
};

const WRITE = 'role "monitor" could write to the database it monitors (CREATE on schema public). Fix: REVOKE CREATE ON SCHEMA public FROM "monitor", PUBLIC;';
const LOST = 'role "monitor" lost pg_monitor while pgmon runs: other sessions\' states, queries and wait events are hidden. Fix: GRANT pg_monitor TO "monitor";';

const degraded: Health = {
  ...healthy,
  status: "degraded",
  database: { reachable: false, error: "database unreachable: connection refused", since: "2026-12-01T10:00:00Z", failed_runs: 3, server_version: "17.2" },
  degraded: [
    "database: database unreachable: connection refused",
    "hot_path: last run failed: database unreachable: connection refused",
    "storage: pool busy: the previous run still holds the connection",
    `read_only: ${WRITE}`,
    `privileges: ${LOST}`,
  ],
  advisories: [{ code: "track_io_timing_off", message: "track_io_timing is off: no I/O timings", fix: "ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf();" }],
  loops: {
    hot_path: loop("hot_path", { status: "degraded", reason: "last run failed: database unreachable: connection refused", consecutive_failures: 3 }),
    storage: loop("storage", { interval: "10m", budget: "10s", status: "degraded", reason: "pool busy: the previous run still holds the connection", pool_busy: 2 }),
  },
};

afterEach(() => vi.unstubAllGlobals());

function Live() {
  return <HealthPanel health={useApi<Health>("api/v1/health", [503])} />;
}

function serve(health: Health) {
  stubFetch({ "api/v1/health": { status: health.status === "degraded" ? 503 : 200, body: health }, "api/v1/sql": { body: { server_version_num: null, loops: {} } } });
  return renderLive(<Live />);
}

/** The value cell of one loop's column, by the loop name and the column header. */
function loopCell(loopName: string, header: string): HTMLElement {
  const table = screen.getByRole("region", { name: "Loops" });
  const headers = within(table).getAllByRole("columnheader").map((h) => h.textContent);
  const row = within(table).getByText(loopName).closest("tr")!;
  return within(row).getAllByRole("cell")[headers.indexOf(header)];
}

describe("HealthPanel", () => {
  it("shows the database reachable since when, pool-busy counts, and no degraded rows when healthy", async () => {
    serve(healthy);
    const db = await screen.findByTestId("database-status");
    expect(db).toHaveTextContent(/^reachable \(PostgreSQL 17\.2\) since 2026-12-01T09:00:00Z \(.+ ago\)$/);
    expect(loopCell("hot_path", "Pool busy")).toHaveTextContent("0");
    expect(screen.queryByTestId("read-only")).toBeNull();
    expect(screen.queryByTestId("privileges")).toBeNull();
    expect(screen.queryByText("Degraded")).toBeNull();
    expect(screen.getByText("Every recommended setting is in place.")).toBeInTheDocument();
  });

  it("shows an unreachable database with its error, since when and failed runs, the read-only and privileges lines, pool busy and advisories", async () => {
    serve(degraded);
    const db = await screen.findByTestId("database-status");
    expect(db).toHaveTextContent(/^unreachable: database unreachable: connection refused since 2026-12-01T10:00:00Z \(.+ ago\) · 3 failed runs in a row$/);
    expect(screen.getByTestId("read-only")).toHaveTextContent(`at risk: ${WRITE} The agent's own sessions stay read-only`);
    expect(screen.getByTestId("privileges")).toHaveTextContent(`pg_monitor lost: ${LOST}`);
    // Loop lines are the loops' own reasons, in the table.
    expect(loopCell("storage", "Why")).toHaveTextContent("pool busy: the previous run still holds the connection");
    expect(loopCell("storage", "Pool busy")).toHaveTextContent("2");
    expect(within(loopCell("storage", "Pool busy")).getByText("2")).toHaveClass("warn-text");
    // Every degraded line is on the page once: none falls into the catch-all row.
    expect(screen.queryByText("Degraded")).toBeNull();
    const advisory = screen.getByText(/track_io_timing is off/);
    expect(advisory).toHaveTextContent("track_io_timing is off: no I/O timings. Fix: ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf();");
  });

  it("keeps a degraded line of an unknown kind visible", () => {
    const h: Health = { ...degraded, degraded: [...degraded.degraded, "something_new: a reason the UI does not know yet"] };
    expect(splitDegraded(h)).toEqual({ readOnly: [WRITE], privileges: [LOST], other: ["something_new: a reason the UI does not know yet"] });
  });

  it("lists an unknown degraded kind under Degraded", async () => {
    serve({ ...healthy, status: "degraded", degraded: ["something_new: a reason"] });
    expect(await screen.findByText("something_new: a reason")).toBeInTheDocument();
    expect(screen.getByText("Degraded").tagName).toBe("DT");
  });
});

describe("sectionFailures", () => {
  it("names each failed section's typed reason: the SQLSTATE, a timeout, a lost connection", () => {
    const l = loop("workload", {
      section_failures: {
        freshness: { kind: "query", sqlstate: "42501", message: "permission denied for table t" },
        wal: { kind: "timeout" },
        checkpoints: { kind: "connection_lost", detail: "connection closed" },
      },
    });
    expect(sectionFailures(l)).toBe("freshness: SQLSTATE 42501, wal: timeout, checkpoints: connection lost");
    expect(sectionFailures(loop("hot_path"))).toBe("");
  });
});

describe("database time", () => {
  it("sums each loop's time an hour into a share of one core", () => {
    const cost = databaseCost([loop("hot_path", { db_seconds_per_hour: 0.96 }), loop("storage", { db_seconds_per_hour: 2.64 })]);
    expect(cost?.secondsPerHour).toBeCloseTo(3.6);
    expect(cost?.percentOfCore).toBeCloseTo(0.1);
    expect(databaseCost([loop("hot_path", { last_db_seconds: null, db_seconds_per_hour: null })])).toBeNull();
  });
});
