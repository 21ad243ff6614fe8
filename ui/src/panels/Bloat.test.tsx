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
});
