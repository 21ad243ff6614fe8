import { fireEvent, render, screen, within } from "@testing-library/react";
import { DataTable } from "./DataTable";

interface Row {
  name: string;
  dead: number | null;
}

const rows: Row[] = [
  { name: "b", dead: 10 },
  { name: "a", dead: 300 },
  { name: "c", dead: null },
  { name: "d", dead: 25 },
];

function names(): string[] {
  return within(screen.getByRole("table"))
    .getAllByRole("row")
    .slice(1)
    .map((r) => r.querySelector("td")!.textContent!);
}

describe("DataTable", () => {
  const columns = [
    { key: "name", label: "Name", render: (r: Row) => r.name, sortValue: (r: Row) => r.name },
    { key: "dead", label: "Dead", numeric: true, render: (r: Row) => String(r.dead ?? "—"), sortValue: (r: Row) => r.dead },
  ];

  it("applies the initial sort, missing values last", () => {
    render(<DataTable columns={columns} rows={rows} rowKey={(r) => r.name} initialSort={{ key: "dead", descending: true }} />);
    expect(names()).toEqual(["a", "d", "b", "c"]);
    expect(screen.getByRole("columnheader", { name: /Dead/ })).toHaveAttribute("aria-sort", "descending");
  });

  it("sorts by a clicked header, and reverses on the second click", () => {
    render(<DataTable columns={columns} rows={rows} rowKey={(r) => r.name} />);
    expect(names()).toEqual(["b", "a", "c", "d"]);
    fireEvent.click(screen.getByRole("button", { name: /Name/ }));
    expect(names()).toEqual(["d", "c", "b", "a"]);
    fireEvent.click(screen.getByRole("button", { name: /Name/ }));
    expect(names()).toEqual(["a", "b", "c", "d"]);
    fireEvent.click(screen.getByRole("button", { name: /Dead/ }));
    expect(names()).toEqual(["a", "d", "b", "c"]);
    fireEvent.click(screen.getByRole("button", { name: /Dead/ }));
    expect(names()).toEqual(["b", "d", "a", "c"]);
  });
});
