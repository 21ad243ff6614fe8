import { screen, within } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { SettingsPanel } from "./Settings";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [{ collector: "settings", sql: "SELECT name FROM pg_settings" }] };

afterEach(() => vi.unstubAllGlobals());

const body = {
  ...envelope,
  error: null,
  history_limit: 200,
  changes_observed_total: 3,
  pending_restart_alert_after_seconds: 21600,
  changes: [
    { name: "work_mem", old: "4MB", new: "64MB", old_source: "default", source: "configuration file", seen_at: "2026-12-01T09:59:00Z" },
  ],
  pending_restart: [
    { name: "shared_buffers", running: "128MB", pending: "256MB", pending_seconds: 7 * 3600 },
    { name: "max_connections", running: "100", pending: null, pending_seconds: 60 },
  ],
  file_errors: null,
  file_errors_unavailable_reason: "pg_file_settings is readable by superusers only by default: GRANT SELECT ON pg_file_settings TO monitor;",
  recommended: [
    { name: "track_io_timing", value: "off", recommended: "on", ok: false, fix: "ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf();" },
    { name: "pg_stat_statements.track", value: "all", recommended: "all", ok: true, fix: "" },
  ],
};

describe("SettingsPanel", () => {
  it("lists changes with old and new, pending restarts with their age, and the recommendations", async () => {
    stubFetch({ "api/v1/settings": { body } });
    renderLive(<SettingsPanel />);
    const changes = await screen.findByRole("region", { name: "Setting changes" });
    expect(changes).toHaveTextContent("work_mem");
    expect(changes).toHaveTextContent("4MB");
    expect(changes).toHaveTextContent("64MB");
    expect(changes).toHaveTextContent("default → configuration file");
    const pending = screen.getByRole("region", { name: "Settings pending restart" });
    expect(pending).toHaveTextContent("shared_buffers");
    expect(pending).toHaveTextContent("256MB");
    expect(pending).toHaveTextContent("not readable");
    expect(within(pending).getByText("7h 0m")).toHaveClass("warn-text");
    expect(within(pending).getByText("1m 0s")).not.toHaveClass("warn-text");
    expect(screen.getByText(/3 change\(s\) since the agent started/)).toBeInTheDocument();
    expect(screen.getByText(/Not readable: pg_file_settings is readable by superusers/)).toBeInTheDocument();
    const recommended = screen.getByRole("region", { name: "Recommended settings" });
    expect(recommended).toHaveTextContent("ALTER SYSTEM SET track_io_timing = on;");
    expect(within(recommended).getByText("missing")).toHaveClass("warn-text");
  });

  it("says so when nothing changed and nothing waits", async () => {
    stubFetch({ "api/v1/settings": { body: { ...body, changes: [], pending_restart: [], file_errors: [], file_errors_unavailable_reason: null } } });
    renderLive(<SettingsPanel />);
    expect(await screen.findByText("No setting changed since the agent started watching.")).toBeInTheDocument();
    expect(screen.getByText("No changed setting waits for a restart.")).toBeInTheDocument();
    expect(screen.getByText("Every line of the configuration files applies.")).toBeInTheDocument();
  });
});
