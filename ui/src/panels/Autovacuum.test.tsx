import { screen } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { AutovacuumPanel } from "./Autovacuum";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [] };

afterEach(() => vi.unstubAllGlobals());

describe("AutovacuumPanel", () => {
  it("says why tables and running vacuums are missing instead of leaving blank headings", async () => {
    stubFetch({
      "api/v1/autovacuum": { body: { ...envelope, errors: { freshness: "freshness: statement timeout" }, tables: null, in_progress: null } },
    });
    renderLive(<AutovacuumPanel />);
    expect(await screen.findByText(/freshness: statement timeout/)).toHaveTextContent(/^Section freshness failed on the agent:/);
    expect(screen.getByText(/Table freshness not collected this run/)).toBeInTheDocument();
    expect(screen.getByText("Running vacuums come from the hot path, which has no snapshot yet.")).toBeInTheDocument();
  });
});
