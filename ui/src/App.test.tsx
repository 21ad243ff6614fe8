import { screen } from "@testing-library/react";
import { App } from "./App";
import { renderLive, stubFetch } from "./test-support";

const loops = {
  hot_path: { name: "hot_path", interval: "15s", budget: "1s", status: "degraded", reason: "database unreachable: connection refused", last_run_at: null, last_success_at: null, last_duration_seconds: 0.001, last_run_ok: false, last_error: "x", section_errors: {}, consecutive_failures: 3, runs_total: 9, errors_total: 3, restarts: 1, skipped_ticks: 0, budget_overruns: 0, next_run_due: null },
};

afterEach(() => {
  vi.unstubAllGlobals();
  window.location.hash = "";
});

describe("App", () => {
  it("shows the degraded banner with the reason, and the cluster in the title", async () => {
    stubFetch({
      "api/v1/health": {
        status: 503,
        body: { status: "degraded", cluster: "prod-eu", db: "app", database: { reachable: false, error: "database unreachable: connection refused", server_version: null }, degraded: ["hot_path: database unreachable: connection refused"], loops, uptime_seconds: 60 },
      },
      "api/v1/overview": { status: 503, body: { error: "state unavailable" } },
      "api/v1/history": { body: { window: "1h", hot_path: [], workload: [], sql: [] } },
    });
    renderLive(<App />);
    const banner = await screen.findByTestId("degraded");
    expect(banner).toHaveTextContent("Agent degraded");
    expect(banner).toHaveTextContent("hot_path: database unreachable: connection refused");
    expect(await screen.findByText("prod-eu")).toBeInTheDocument();
    expect(document.title).toContain("prod-eu");
    // The panel shows the error instead of going blank.
    expect(await screen.findByText("state unavailable")).toBeInTheDocument();
  });

  it("does not crash when /healthz answers 503 with only an error", async () => {
    stubFetch({
      "api/v1/health": { status: 503, body: { error: "state unavailable: mailbox closed" } },
      "api/v1/overview": { status: 503, body: { error: "state unavailable: mailbox closed" } },
      "api/v1/history": { status: 503, body: { error: "state unavailable: mailbox closed" } },
    });
    renderLive(<App />);
    const banner = await screen.findByTestId("degraded");
    expect(banner).toHaveTextContent("Agent health unavailable (HTTP 503): state unavailable: mailbox closed");
    expect(screen.getByRole("heading", { name: /pgmon/ })).toHaveTextContent("…");
  });

  it("opens the panel named by the deep link", async () => {
    window.location.hash = "#/partitions";
    stubFetch({
      "api/v1/health": { body: { status: "ok", cluster: "c", db: "app", database: { reachable: true, error: null, server_version: "17.2" }, degraded: [], loops: {}, uptime_seconds: 5 } },
      "api/v1/partitions": { body: { cluster: "c", db: "app", collected_at: null, sql: [], error: null, parents: [] } },
    });
    renderLive(<App />);
    expect(await screen.findByText("No partitioned tables in this database.")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Partitions", current: "page" })).toBeInTheDocument();
    expect(screen.queryByTestId("degraded")).toBeNull();
  });
});
