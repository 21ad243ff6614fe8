import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { renderLive, stubFetch } from "../test-support";
import { TopQueriesPanel, type Redacted, type TopStatement } from "./TopQueries";

const envelope = { cluster: "prod", db: "app", collected_at: "2026-12-01T10:00:00Z", sql: [{ collector: "statements", sql: "SELECT queryid FROM pg_stat_statements(false)" }] };

function statement(queryid: string, calls: number, total: number, read: number, query: string | null, query_redacted: Redacted | null = null): TopStatement {
  return { queryid, database: "app", calls, total_time_seconds: total, exec_time_seconds: total, plan_time_seconds: 0, mean_time_seconds: total / calls, rows: calls, shared_blks_hit: 0, shared_blks_read: read, query, query_redacted, rank_by_time: 1, rank_by_calls: 1, rank_by_read: 1 };
}

afterEach(() => vi.unstubAllGlobals());

describe("TopQueriesPanel", () => {
  it("explains how to enable pg_stat_statements when it is missing", async () => {
    stubFetch({
      "api/v1/top-queries": { body: { ...envelope, available: false, unavailable_reason: "pg_stat_statements is not installed in database app: CREATE EXTENSION pg_stat_statements;", error: null } },
    });
    renderLive(<TopQueriesPanel />);
    expect(await screen.findByText("pg_stat_statements is not available.")).toBeInTheDocument();
    expect(screen.getByText(/not installed in database app/)).toBeInTheDocument();
    expect(screen.getByText("shared_preload_libraries = 'pg_stat_statements'")).toBeInTheDocument();
  });

  it("tells a failed read from a missing extension, as a section error of the current answer", async () => {
    stubFetch({
      "api/v1/top-queries": { body: { ...envelope, available: false, error: "statements: canceling statement due to statement timeout" } },
    });
    renderLive(<TopQueriesPanel />);
    expect(await screen.findByText(/No ranking this run: reading pg_stat_statements failed/)).toBeInTheDocument();
    expect(screen.queryByText("pg_stat_statements is not available.")).toBeNull();
    expect(screen.getByText(/canceling statement due to statement timeout/)).toHaveTextContent(/^Section statements failed on the agent:/);
    expect(screen.queryByText(/Showing the previous answer/)).toBeNull();
  });

  it("ranks by the chosen figure and shows queryid only when text is redacted", async () => {
    const slow = statement("111", 10, 50, 5, null, "utility_statement");
    const chatty = statement("222", 9000, 3, 0, null, "quoted_literal");
    stubFetch({
      "api/v1/top-queries": {
        body: { ...envelope, available: true, statements_tracked: 2, redact_sql_text: true, by_total_time: [slow, chatty], by_calls: [chatty, slow], by_shared_blks_read: [slow], error: null },
      },
    });
    renderLive(<TopQueriesPanel />);
    const table = await screen.findByRole("table");
    const first = () => within(screen.getByRole("table")).getAllByRole("row")[1];
    expect(within(first()).getByText("111")).toBeInTheDocument();
    expect(within(table).getAllByText("redacted")).toHaveLength(2);
    expect(within(first()).getByText("redacted")).toHaveAttribute("title", expect.stringMatching(/^Redacted: a utility statement/));
    const rankBy = within(screen.getByRole("group", { name: "Rank statements by" }));
    fireEvent.click(rankBy.getByRole("button", { name: "Calls" }));
    await waitFor(() => expect(within(first()).getByText("222")).toBeInTheDocument());
    expect(rankBy.getByRole("button", { name: "Calls" })).toHaveAttribute("aria-pressed", "true");
    expect(rankBy.getByRole("button", { name: "Total time" })).toHaveAttribute("aria-pressed", "false");
  });

  it("shows normalized text when the agent allows it, and the rule while redaction is on", async () => {
    stubFetch({
      "api/v1/top-queries": {
        body: {
          ...envelope,
          available: true,
          statements_tracked: 3,
          redact_sql_text: true,
          by_total_time: [statement("333", 5, 1, 0, "SELECT * FROM orders WHERE id = $1"), statement("444", 4, 1, 0, null, "quoted_literal"), statement("555", 3, 1, 0, null)],
          by_calls: [],
          by_shared_blks_read: [],
          error: null,
        },
      },
    });
    renderLive(<TopQueriesPanel />);
    expect(await screen.findByText("SELECT * FROM orders WHERE id = $1")).toBeInTheDocument();
    expect(screen.getByTestId("redaction-rule")).toHaveTextContent(/is on: a statement's normalized text is shown only for SELECT/);
    expect(screen.getByText("redacted")).toHaveAttribute("title", "Redacted: a quoted literal is still in the text");
    expect(screen.getByText("—", { selector: "span" })).toHaveAttribute("title", expect.stringMatching(/no text for it/));
  });

  it("states no rule when every text is shown", async () => {
    stubFetch({
      "api/v1/top-queries": { body: { ...envelope, available: true, statements_tracked: 1, redact_sql_text: false, by_total_time: [statement("666", 5, 1, 0, "ALTER ROLE app PASSWORD 'x'")], by_calls: [], by_shared_blks_read: [], error: null } },
    });
    renderLive(<TopQueriesPanel />);
    expect(await screen.findByText("ALTER ROLE app PASSWORD 'x'")).toBeInTheDocument();
    expect(screen.queryByTestId("redaction-rule")).toBeNull();
  });
});
