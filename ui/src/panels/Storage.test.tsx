import { screen, within } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { StoragePanel } from "./Storage";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [] };

afterEach(() => vi.unstubAllGlobals());

describe("StoragePanel", () => {
  it("shows why unused indexes are missing when their section failed", async () => {
    stubFetch({
      "api/v1/storage": { body: { ...envelope, errors: { indexes: "index sizes: statement timeout" }, tables: [], indexes: null } },
      "api/v1/unused-indexes": { body: { ...envelope, error: "unused indexes: permission denied for pg_stat_user_indexes", unused_indexes: null } },
    });
    renderLive(<StoragePanel />);
    expect(await screen.findByText(/permission denied for pg_stat_user_indexes/)).toHaveTextContent(/^Section unused_indexes failed on the agent:/);
    expect(screen.getByText(/index sizes: statement timeout/)).toHaveTextContent(/^Section indexes failed on the agent:/);
    expect(screen.getByText("Not collected this run: see the section error above.")).toBeInTheDocument();
    expect(screen.getByText("No user tables in this database.")).toBeInTheDocument();
    expect(screen.getByText(/Index sizes not collected this run/)).toBeInTheDocument();
  });

  it("lists the relations a lock kept out of this run, apart from section errors", async () => {
    const reason = "AccessExclusiveLock on index public.orders_pkey held by pid 4242";
    stubFetch({
      "api/v1/storage": {
        body: {
          ...envelope,
          errors: {},
          tables: [],
          indexes: [],
          skipped_relations: [
            { relation: "public.orders", reason },
            { relation: "public.orders_pkey", reason },
          ],
        },
      },
      "api/v1/unused-indexes": { body: { ...envelope, error: null, unused_indexes: { indexes: [], constraint_indexes: [], min_bytes: 0, observed_since: null } } },
    });
    const { container } = renderLive(<StoragePanel />);
    const note = await screen.findByTestId("skipped-relations");
    expect(note).toHaveTextContent(/^Skipped this run: a lock held or awaited by another session kept these sizes from being read/);
    const items = within(note).getAllByRole("listitem");
    expect(items.map((li) => li.textContent)).toEqual([`public.orders: ${reason}`, `public.orders_pkey: ${reason}`]);
    expect(note).not.toHaveClass("error");
    expect(container.querySelectorAll(".error")).toHaveLength(0);
  });

  it("shows no skipped note when nothing was skipped", async () => {
    stubFetch({
      "api/v1/storage": { body: { ...envelope, errors: {}, tables: [], indexes: [], skipped_relations: [] } },
      "api/v1/unused-indexes": { body: { ...envelope, error: null, unused_indexes: { indexes: [], constraint_indexes: [], min_bytes: 0, observed_since: null } } },
    });
    renderLive(<StoragePanel />);
    await screen.findByText("No user tables in this database.");
    expect(screen.queryByTestId("skipped-relations")).toBeNull();
  });

  it("marks the last snapshot stale with the agent's reason while the database is unreachable", async () => {
    const stale = "database unreachable: connection refused";
    stubFetch({
      "api/v1/storage": { body: { ...envelope, stale, age_seconds: 700, database_reachable: false, tables: [], indexes: [] } },
      "api/v1/unused-indexes": { body: { ...envelope, stale, error: null, unused_indexes: { indexes: [], constraint_indexes: [], min_bytes: 0, observed_since: null } } },
    });
    const { container } = renderLive(<StoragePanel />);
    expect(await screen.findByText(/These figures are the last ones read/)).toHaveTextContent(`Stale. ${stale}.`);
    expect(container.querySelector('[data-panel="storage"]')).toHaveAttribute("data-stale", "true");
  });
});
