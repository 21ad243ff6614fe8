import { fireEvent, render, screen } from "@testing-library/react";
import { SqlUsed } from "./SqlUsed";

describe("SqlUsed", () => {
  const sql = [
    { collector: "connections", sql: "SELECT count(*)::int8 AS connections FROM pg_stat_activity" },
    { collector: "temp", sql: "SELECT d.datname FROM pg_stat_database d" },
  ];

  it("starts collapsed and expands to every statement", () => {
    const { container } = render(<SqlUsed sql={sql} />);
    const details = container.querySelector("details")!;
    expect(details.open).toBe(false);
    expect(screen.getByText("SQL used (2 statements)")).toBeInTheDocument();
    fireEvent.click(screen.getByText("SQL used (2 statements)"));
    expect(details.open).toBe(true);
    const blocks = container.querySelectorAll("pre");
    expect([...blocks].map((b) => b.textContent)).toEqual([sql[0].sql, sql[1].sql]);
    expect(screen.getByText("connections")).toBeInTheDocument();
  });

  it("says so when a view runs no SQL", () => {
    render(<SqlUsed sql={[]} />);
    expect(screen.getByText("SQL used (0 statements)")).toBeInTheDocument();
    expect(screen.getByText(/No SQL: this view comes from the agent itself/)).toBeInTheDocument();
  });
});
