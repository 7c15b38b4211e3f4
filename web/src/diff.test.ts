import { describe, expect, it } from "vitest";
import { diffLines, promptText, templateVariables } from "./diff";

describe("diffLines", () => {
  it("marks kept, removed and added lines", () => {
    expect(diffLines("a\nb\nc", "a\nx\nc")).toEqual([
      { kind: "same", text: "a" },
      { kind: "del", text: "b" },
      { kind: "add", text: "x" },
      { kind: "same", text: "c" },
    ]);
  });
  it("handles empty sides", () => {
    expect(diffLines("", "a").map((l) => l.kind)).toEqual(["del", "add"]);
    expect(diffLines("same", "same")).toEqual([{ kind: "same", text: "same" }]);
  });
});

describe("promptText", () => {
  it("renders chat messages and placeholders", () => {
    const t = promptText([{ role: "system", content: "Be brief" }, { type: "placeholder", name: "history" }]);
    expect(t).toBe("[system]\nBe brief\n\n[placeholder: history]");
  });
});

describe("templateVariables", () => {
  it("finds distinct variables", () => {
    expect(templateVariables("Hi {{name}}, {{ topic }} and {{name}} {{1bad}}")).toEqual(["name", "topic"]);
  });
});
