import { screen, within } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { StaleStatsPanel } from "./StaleStats";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [], error: null };
const HOUR = 3600;
const table = (relation: string, stale_seconds: number, lowerBound: boolean, never: boolean, severity: "warn" | null = "warn") => ({
  relation,
  modified_since_analyze: 500,
  modified_last_hour: severity ? 120 : 0,
  analyze_trigger: 150,
  live_tuples: 1000,
  stale_seconds,
  stale_seconds_lower_bound: lowerBound,
  never_analyzed: never,
  severity,
  verdict: severity ? "500 rows modified since the last analyze (trigger 150), 120 in the last hour" : "not stale: not modified in the last hour",
  fix: `ANALYZE ${relation};`,
});

afterEach(() => vi.unstubAllGlobals());

describe("StaleStatsPanel", () => {
  it("shows a lower-bound age as ≥, explains it, and keeps (never analyzed)", async () => {
    const stale = [table("public.analyzed", 13 * HOUR, false, false), table("public.reset", 20 * HOUR, true, false), table("public.fresh", 30 * HOUR, true, true)];
    stubFetch({ "api/v1/stale-stats": { body: { ...envelope, tables: stale, stalest: stale } } });
    renderLive(<StaleStatsPanel />);
    const region = await screen.findByRole("region", { name: "Stale statistics" });
    const cell = (relation: string) => within(within(region).getByText(relation).closest("tr")!).getAllByRole("cell")[1];

    expect(cell("public.analyzed")).toHaveTextContent(/^13h 0m$/);
    expect(within(cell("public.analyzed")).queryByTitle(/.+/)).toBeNull();

    expect(cell("public.reset")).toHaveTextContent(/^≥ 20h 0m$/);
    expect(within(cell("public.reset")).getByTitle(/No analyze time recorded/)).toHaveTextContent("≥ 20h 0m");

    expect(cell("public.fresh")).toHaveTextContent(/^≥ 1d 6h \(never analyzed\)$/);
    expect(within(cell("public.fresh")).getByTitle(/never analyzed/)).toBeInTheDocument();
    expect(screen.getByText("3 stale tables.", { exact: false })).toBeInTheDocument();
  });

  it("lists a table that is not stale with its verdict and no fix", async () => {
    const quiet = table("public.quiet", 40 * HOUR, false, false, null);
    stubFetch({ "api/v1/stale-stats": { body: { ...envelope, tables: [], stalest: [quiet] } } });
    renderLive(<StaleStatsPanel />);
    const region = await screen.findByRole("region", { name: "Stale statistics" });
    const row = within(region).getByText("public.quiet").closest("tr")!;
    expect(within(row).getByText("not stale: not modified in the last hour")).toBeInTheDocument();
    expect(within(row).queryByText("ANALYZE public.quiet;")).toBeNull();
    expect(screen.getByText("No table is stale.", { exact: false })).toBeInTheDocument();
  });
});
