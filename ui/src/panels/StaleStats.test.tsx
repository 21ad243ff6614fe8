import { screen, within } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { StaleStatsPanel } from "./StaleStats";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [], error: null };
const HOUR = 3600;
const table = (relation: string, stale_seconds: number, lowerBound: boolean, never: boolean) => ({
  relation,
  modified_since_analyze: 500,
  stale_seconds,
  stale_seconds_lower_bound: lowerBound,
  never_analyzed: never,
  severity: "warn",
  fix: `ANALYZE ${relation};`,
});

afterEach(() => vi.unstubAllGlobals());

describe("StaleStatsPanel", () => {
  it("shows a lower-bound age as ≥, explains it, and keeps (never analyzed)", async () => {
    stubFetch({
      "api/v1/stale-stats": {
        body: {
          ...envelope,
          tables: [table("public.analyzed", 13 * HOUR, false, false), table("public.reset", 20 * HOUR, true, false), table("public.fresh", 30 * HOUR, true, true)],
        },
      },
    });
    renderLive(<StaleStatsPanel />);
    const region = await screen.findByRole("region", { name: "Stale statistics" });
    const cell = (relation: string) => within(within(region).getByText(relation).closest("tr")!).getAllByRole("cell")[1];

    expect(cell("public.analyzed")).toHaveTextContent(/^13h 0m$/);
    expect(within(cell("public.analyzed")).queryByTitle(/.+/)).toBeNull();

    expect(cell("public.reset")).toHaveTextContent(/^≥ 20h 0m$/);
    expect(within(cell("public.reset")).getByTitle(/No analyze time recorded since the statistics were reset/)).toHaveTextContent("≥ 20h 0m");

    expect(cell("public.fresh")).toHaveTextContent(/^≥ 1d 6h \(never analyzed\)$/);
    expect(within(cell("public.fresh")).getByTitle(/never analyzed/)).toBeInTheDocument();
  });
});
