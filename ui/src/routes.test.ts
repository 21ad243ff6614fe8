import { panelFromHash, panelFromLocation } from "./routes";
import { parseHumantime } from "./panels/Health";

describe("deep links", () => {
  it("maps each hash to its panel and anything else to the overview", () => {
    expect(panelFromHash("#/storage")).toBe("storage");
    expect(panelFromHash("#/top-queries")).toBe("top-queries");
    expect(panelFromHash("#stale-stats")).toBe("stale-stats");
    expect(panelFromHash("#/partitions?x=1")).toBe("partitions");
    expect(panelFromHash("")).toBe("overview");
    expect(panelFromHash("#/nope")).toBe("overview");
  });
});

describe("path deep links", () => {
  it("reads the path when there is no hash", () => {
    expect(panelFromLocation("/storage", "")).toBe("storage");
    expect(panelFromLocation("/alerts/", "")).toBe("alerts");
    expect(panelFromLocation("/", "")).toBe("overview");
    expect(panelFromLocation("/storage", "#/bloat")).toBe("bloat");
  });
});

describe("parseHumantime", () => {
  it("reads the agent's budgets and intervals", () => {
    expect(parseHumantime("900ms")).toBeCloseTo(0.9);
    expect(parseHumantime("1s")).toBe(1);
    expect(parseHumantime("1m 30s")).toBe(90);
    expect(parseHumantime("1h")).toBe(3600);
    expect(parseHumantime("soon")).toBeNull();
  });
});
