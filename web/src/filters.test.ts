import { describe, expect, it } from "vitest";
import { encodeFilters, parseFilters, searchModeOf, toCondition, traceFilterParam } from "./filters";

describe("filters", () => {
  it("round-trips through the URL", () => {
    const fs = [{ column: "userId", operator: "=", value: "u1" }];
    expect(parseFilters(encodeFilters(fs))).toEqual(fs);
    expect(parseFilters("not json")).toEqual([]);
    expect(encodeFilters([])).toBeNull();
  });

  it("translates to server conditions", () => {
    expect(toCondition({ column: "latency", operator: ">=", value: "1.5" })).toEqual({
      type: "number",
      column: "latency",
      operator: ">=",
      value: 1.5,
    });
    expect(toCondition({ column: "tags", operator: "any of", value: "a, b" })).toEqual({
      type: "arrayOptions",
      column: "tags",
      operator: "any of",
      value: ["a", "b"],
    });
    expect(toCondition({ column: "latency", operator: ">=", value: "x" })).toBeNull();
    expect(toCondition({ column: "nope", operator: "=", value: "x" })).toBeNull();
  });

  it("adds the time range and search", () => {
    const now = Date.parse("2025-01-02T00:00:00.000Z");
    const conds = JSON.parse(traceFilterParam([], "24h", " chat ", now));
    expect(conds).toEqual([
      { type: "datetime", column: "timestamp", operator: ">=", value: "2025-01-01T00:00:00.000Z" },
      { type: "string", column: "name", operator: "contains", value: "chat" },
    ]);
    expect(JSON.parse(traceFilterParam([], "all", ""))).toEqual([]);
  });

  it("translates score filters with their score name", () => {
    const f = { column: "scores", operator: ">=", value: "0.5", key: "accuracy" };
    expect(parseFilters(encodeFilters([f]))).toEqual([f]);
    expect(toCondition(f)).toEqual({ type: "numberObject", column: "scores", key: "accuracy", operator: ">=", value: 0.5 });
    expect(toCondition({ column: "scoreCategories", operator: "any of", value: "good, ok", key: "quality" })).toEqual({
      type: "categoryOptions",
      column: "scores",
      key: "quality",
      operator: "any of",
      value: ["good", "ok"],
    });
    // Without a score name the condition is incomplete.
    expect(toCondition({ column: "scores", operator: ">=", value: "1" })).toBeNull();
  });

  it("reads the search mode", () => {
    expect(searchModeOf("text")).toBe("text");
    expect(searchModeOf(null)).toBe("names");
    expect(searchModeOf("other")).toBe("names");
  });
});
