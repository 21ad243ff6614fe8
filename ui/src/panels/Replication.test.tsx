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

  it("lists slots with the WAL they retain and their verdict, archiving and the WAL directory", async () => {
    stubFetch({
      "api/v1/replication": {
        body: {
          ...envelope,
          error: null,
          role: "primary",
          replicas: [],
          standby: null,
          errors: {},
          slots: [
            { slot: "standby_1", slot_type: "physical", active: false, database: "", retained_bytes: 2 * 1024 ** 3, wal_status: "extended", safe_wal_size_bytes: null, xmin_age: null, catalog_xmin_age: null, severity: "warn", verdict: "physical slot standby_1 (inactive) retains 2.0 GiB of WAL" },
            { slot: "cdc", slot_type: "logical", active: true, database: "app", retained_bytes: 1024, wal_status: "reserved", safe_wal_size_bytes: null, xmin_age: null, catalog_xmin_age: 1234, severity: null, verdict: null },
          ],
          archiving: {
            archive_mode: "on", enabled: true, archived_total: 10, failed_total: 7, new_failures: 3,
            last_archived_wal: null, last_archived_seconds: null, last_failed_wal: "000000010000000000000002", last_failed_seconds: 4,
            failing_now: true, failing_seconds: 60, ready_segments: 2, oldest_ready_seconds: 95,
            failing: "warn", stalled: null, verdict: "archive_command fails: last failure on 000000010000000000000002 4s ago",
          },
          wal_directory: { segments: 80, bytes: 1.25 * 1024 ** 3, max_wal_size_bytes: 1024 ** 3, fraction_of_max_wal_size: 1.25, unavailable_reason: null },
        },
      },
    });
    renderLive(<ReplicationPanel />);
    const slots = await screen.findByRole("region", { name: "Replication slots" });
    expect(slots).toHaveTextContent("standby_1");
    expect(slots).toHaveTextContent("inactive");
    expect(slots).toHaveTextContent("2.0 GiB");
    expect(slots).toHaveTextContent("logical (app)");
    expect(slots).toHaveTextContent("1,234");
    expect(screen.getByText(/retains 2.0 GiB of WAL/)).toBeInTheDocument();
    expect(screen.getByText(/none since the statistics reset/)).toBeInTheDocument();
    expect(screen.getByText(/last failure on 000000010000000000000002/)).toBeInTheDocument();
    expect(screen.getByText("2, the oldest for 1m 35s")).toBeInTheDocument();
    expect(screen.getByText("1.3 GiB")).toHaveClass("warn-text");
    expect(screen.getByText(/125 % of max_wal_size/)).toBeInTheDocument();
  });

  it("says archiving is off rather than judging it", async () => {
    stubFetch({
      "api/v1/replication": {
        body: {
          ...envelope, error: null, role: "primary", replicas: [], standby: null, errors: {}, slots: [], wal_directory: null,
          archiving: {
            archive_mode: "off", enabled: false, archived_total: 0, failed_total: 0, new_failures: 0, last_archived_wal: null, last_archived_seconds: null,
            last_failed_wal: null, last_failed_seconds: null, failing_now: false, failing_seconds: null, ready_segments: 0, oldest_ready_seconds: null,
            failing: null, stalled: null, verdict: null,
          },
        },
      },
    });
    renderLive(<ReplicationPanel />);
    expect(await screen.findByText(/Archiving is off \(archive_mode = off\)/)).toBeInTheDocument();
    expect(screen.getByText("No replication slot on this server.")).toBeInTheDocument();
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
