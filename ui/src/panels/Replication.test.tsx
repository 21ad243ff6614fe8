import { screen } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { ReplicationPanel } from "./Replication";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [{ collector: "standby", sql: "SELECT pg_last_wal_receive_lsn()" }] };

afterEach(() => vi.unstubAllGlobals());

describe("ReplicationPanel", () => {
  it("shows a standby's own lag and says why there are no replicas", async () => {
    stubFetch({
      "api/v1/replication": {
        body: { ...envelope, error: null, role: "standby", replicas: [], standby: { receive_replay_lag_bytes: 1536, replay_lag_seconds: 75.8, receiver_status: "streaming" } },
      },
    });
    renderLive(<ReplicationPanel />);
    expect(await screen.findByText(/This server is a/)).toHaveTextContent("This server is a standby.");
    expect(screen.getByText("1.5 KiB")).toBeInTheDocument();
    expect(screen.getByText("1m 16s")).toBeInTheDocument();
    expect(screen.getByText("streaming")).toBeInTheDocument();
    expect(screen.getByText(/No cascading replica streams from this standby/)).toBeInTheDocument();
    expect(screen.queryByText(/No replica is connected to this primary/)).toBeNull();
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("shows a failed section as such, not as a stale answer", async () => {
    stubFetch({ "api/v1/replication": { body: { ...envelope, error: "replicas: permission denied for pg_stat_replication" } } });
    renderLive(<ReplicationPanel />);
    expect(await screen.findByText(/permission denied for pg_stat_replication/)).toHaveTextContent(/^Section replication failed on the agent:/);
    expect(screen.queryByText(/Showing the previous answer/)).toBeNull();
    expect(screen.getByText(/Replication status not collected this run/)).toBeInTheDocument();
  });

  it("says the workload loop has no snapshot yet on a 503", async () => {
    const error = "no workload snapshot yet: the workload loop has not completed a run";
    stubFetch({ "api/v1/replication": { status: 503, body: { error, loops: [] } } });
    const { container } = renderLive(<ReplicationPanel />);
    expect(await screen.findByText(error)).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent(/^No data yet\. no workload snapshot yet: .* This panel fills in after that loop's first run\.$/);
    expect(container.querySelector("[data-panel=replication]")).toHaveAttribute("data-state", "waiting");
    expect(container.querySelector(".error")).toBeNull();
  });
});
