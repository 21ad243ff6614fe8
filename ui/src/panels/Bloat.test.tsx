import { screen, within } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { BloatPanel } from "./Bloat";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [], error: null };
const sample = { relation: "public.churn", table_bytes: 4 * 1048576, scanned_percent: 100, free_bytes: 1048576, free_percent: 25, dead_tuple_bytes: 0, dead_tuple_percent: 0 };

afterEach(() => vi.unstubAllGlobals());

describe("BloatPanel", () => {
  it("names each table not sampled this run with why, and keeps the samples", async () => {
    const lock = "AccessExclusiveLock on table public.orders awaited by pid 77";
    stubFetch({
      "api/v1/bloat": {
        body: {
          ...envelope,
          bloat: {
            available: true,
            unavailable_reason: null,
            samples: [sample],
            skipped: ["public.orders", "public.events"],
            skipped_relations: [
              { relation: "public.orders", reason: lock },
              { relation: "public.events", reason: "the hourly budget ran out before its sample" },
            ],
          },
        },
      },
    });
    const { container } = renderLive(<BloatPanel />);
    const note = await screen.findByTestId("skipped-relations");
    expect(note).toHaveTextContent(/^Skipped this run: these tables were not sampled/);
    expect(within(note).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      `public.orders: ${lock}`,
      "public.events: the hourly budget ran out before its sample",
    ]);
    expect(screen.getByRole("region", { name: "Bloat samples" })).toHaveTextContent("public.churn");
    expect(container.querySelectorAll(".error")).toHaveLength(0);
  });

  it("says why the table is empty when every candidate was skipped", async () => {
    stubFetch({
      "api/v1/bloat": {
        body: {
          ...envelope,
          bloat: { available: true, unavailable_reason: null, samples: [], skipped: ["public.orders"], skipped_relations: [{ relation: "public.orders", reason: "AccessExclusiveLock on table public.orders held by pid 9" }] },
        },
      },
    });
    renderLive(<BloatPanel />);
    expect(await screen.findByText("No table sampled this run: see the skipped tables above.")).toBeInTheDocument();
    expect(screen.getByTestId("skipped-relations")).toHaveTextContent("public.orders: AccessExclusiveLock on table public.orders held by pid 9");
  });

  it("shows no skipped note when every table was sampled", async () => {
    stubFetch({
      "api/v1/bloat": { body: { ...envelope, bloat: { available: true, unavailable_reason: null, samples: [sample], skipped: [], skipped_relations: [] } } },
    });
    renderLive(<BloatPanel />);
    await screen.findByText("public.churn");
    expect(screen.queryByTestId("skipped-relations")).toBeNull();
  });

  it("shows the free-space map per table, index leaf density with its REINDEX, and why the map is missing", async () => {
    const index = { relation: "public.churn", index: "public.churn_pkey", index_bytes: 1048576, leaf_pages: 120, empty_pages: 0, deleted_pages: 0, avg_leaf_density: 12.5, leaf_fragmentation: 3, fix: "REINDEX INDEX CONCURRENTLY public.churn_pkey;" };
    stubFetch({
      "api/v1/bloat": {
        body: {
          ...envelope,
          bloat: { available: true, unavailable_reason: null, samples: [sample], skipped: [], skipped_relations: [], indexes: [index], skipped_indexes: [] },
          free_space_map: [{ relation: "public.churn", table_bytes: 4 * 1048576, fsm_free_bytes: 3 * 1048576, fsm_free_ratio: 0.75, bloat_estimated_bytes: 3 * 1048576, bloat_estimate_basis: "free_space_map+dead_tuples" }],
          free_space_map_status: { available: true, unavailable_reason: null, skipped_relations: [] },
        },
      },
    });
    renderLive(<BloatPanel />);
    const fsm = await screen.findByRole("region", { name: "Free space by table" });
    expect(within(fsm.closest("section") ?? fsm).getByText("75.0 %", { exact: false })).toBeInTheDocument();
    const indexes = screen.getByRole("region", { name: "Index bloat samples" });
    expect(indexes).toHaveTextContent("public.churn_pkey");
    expect(indexes).toHaveTextContent("REINDEX INDEX CONCURRENTLY public.churn_pkey;");
  });

  it("says why there are no free-space figures without pg_freespacemap", async () => {
    const reason = "extension pg_freespacemap is not installed in database app: CREATE EXTENSION pg_freespacemap;";
    stubFetch({
      "api/v1/bloat": {
        body: {
          ...envelope,
          bloat: { available: true, unavailable_reason: null, samples: [sample], skipped: [], skipped_relations: [] },
          free_space_map: [],
          free_space_map_status: { available: false, unavailable_reason: reason, skipped_relations: [] },
        },
      },
    });
    renderLive(<BloatPanel />);
    expect(await screen.findByText(reason, { exact: false })).toBeInTheDocument();
  });
});
