#include "api/json_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "common/json_parse.h"

namespace loupe {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

std::unique_ptr<JsonSchema> MustCompile(std::string_view schema) {
  auto compiled = JsonSchema::Compile(ParseJson(schema));
  EXPECT_TRUE(compiled.ok()) << schema << ": " << compiled.status();
  return compiled.ok() ? std::move(*compiled) : nullptr;
}

// The error message of compiling `schema` ("" when it compiles).
std::string CompileError(std::string_view schema) {
  auto compiled = JsonSchema::Compile(ParseJson(schema));
  if (compiled.ok()) return "";
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(compiled.status().message());
}

// The error message of validating `value` ("" when it matches).
std::string Check(const JsonSchema& schema, std::string_view value) {
  absl::Status s = schema.Validate(ParseJson(value));
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST(JsonSchemaTest, NamesTheFirstViolationByItsPointer) {
  auto s = MustCompile(R"({"type": "object", "required": ["question"],
      "properties": {"question": {"type": "string", "minLength": 2},
                     "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}})");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Check(*s, R"({"question": "why?", "tags": ["a"]})"), "");
  EXPECT_EQ(Check(*s, R"({"question": 3})"),
            "/question: Value type not permitted by 'type' constraint.");
  EXPECT_EQ(Check(*s, R"({"tags": []})"), "/: Missing required property 'question'.");
  EXPECT_EQ(Check(*s, R"({"question": "ok", "tags": ["a", "c"]})"),
            "/tags/1: Failed to match against any enum values.");
  EXPECT_THAT(Check(*s, R"({"question": "x"})"),
              HasSubstr("/question: String should be no fewer than 2"));
  EXPECT_EQ(Check(*s, "null"), "/: Value type not permitted by 'type' constraint.");
}

TEST(JsonSchemaTest, NumbersConstAndCombinators) {
  auto s = MustCompile(R"({"anyOf": [{"type": "integer", "minimum": 0, "maximum": 10},
                                     {"const": "none"}]})");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Check(*s, "3"), "");
  EXPECT_EQ(Check(*s, R"("none")"), "");
  EXPECT_NE(Check(*s, "11"), "");
  EXPECT_NE(Check(*s, "2.5"), "");
  EXPECT_NE(Check(*s, R"("other")"), "");
}

TEST(JsonSchemaTest, BooleanSchemas) {
  auto anything = MustCompile("true");
  auto nothing = MustCompile("false");
  ASSERT_NE(anything, nullptr);
  ASSERT_NE(nothing, nullptr);
  EXPECT_EQ(Check(*anything, R"({"a": 1})"), "");
  EXPECT_EQ(Check(*nothing, "1"), "/: the schema (false) allows no value");
  auto no_extra = MustCompile(R"({"properties": {"a": true}, "additionalProperties": false})");
  ASSERT_NE(no_extra, nullptr);
  EXPECT_EQ(Check(*no_extra, R"({"a": 1})"), "");
  EXPECT_NE(Check(*no_extra, R"({"a": 1, "b": 2})"), "");
}

TEST(JsonSchemaTest, LocalRefsAndRecursionThroughTheValue) {
  auto tree = MustCompile(R"({"$ref": "#/definitions/node", "definitions": {"node": {
      "type": "object", "properties": {"name": {"type": "string"},
      "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}}})");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(Check(*tree, R"({"name": "a", "children": [{"name": "b", "children": []}]})"), "");
  EXPECT_EQ(Check(*tree, R"({"name": "a", "children": [{"name": 2}]})"),
            "/children/0/name: Value type not permitted by 'type' constraint.");
  auto defs = MustCompile(R"({"$defs": {"s": {"type": "string"}},
                              "properties": {"p": {"$ref": "#/$defs/s"}}})");
  ASSERT_NE(defs, nullptr);
  EXPECT_NE(Check(*defs, R"({"p": 1})"), "");
  EXPECT_NE(MustCompile(R"({"properties": {"a": {"$ref": "#"}}})"), nullptr);
}

TEST(JsonSchemaTest, RefusesRefCyclesThatNeverStepIntoTheValue) {
  EXPECT_THAT(CompileError(R"({"$ref": "#"})"), HasSubstr("$ref cycle"));
  EXPECT_THAT(CompileError(R"({"allOf": [{"$ref": "#"}]})"), HasSubstr("$ref cycle"));
  EXPECT_THAT(CompileError(R"({"not": {"$ref": "#"}})"), HasSubstr("$ref cycle"));
  EXPECT_THAT(CompileError(R"({"definitions": {"a": {"$ref": "#/definitions/b"},
                                               "b": {"anyOf": [{"$ref": "#/definitions/a"}]}},
                               "$ref": "#/definitions/a"})"),
              HasSubstr("#/definitions/a → #/definitions/b"));
}

TEST(JsonSchemaTest, RefusesWhatItCannotEnforce) {
  EXPECT_THAT(CompileError(R"({"prefixItems": [{"type": "string"}]})"),
              HasSubstr("unknown keyword 'prefixItems' at #/prefixItems"));
  EXPECT_THAT(CompileError(R"({"properties": {"a": {"nullable": true}}})"),
              HasSubstr("unknown keyword 'nullable' at #/properties/a/nullable"));
  EXPECT_THAT(CompileError(R"({"type": "bogus"})"), HasSubstr("bogus"));
  EXPECT_THAT(CompileError(R"({"minLength": "x"})"), HasSubstr("minLength"));
  EXPECT_THAT(CompileError(R"({"$ref": "https://example.com/schema.json"})"),
              HasSubstr("$ref must point into this document"));
  EXPECT_THAT(CompileError(R"({"$ref": "#/definitions/missing"})"),
              HasSubstr("does not point at a schema"));
  // A $ref into data (an enum value) would bypass these checks.
  EXPECT_THAT(CompileError(R"({"enum": [{"pattern": "(a|aa)*b"}], "not": {"$ref": "#/enum/0"}})"),
              HasSubstr("does not point at a schema"));
  EXPECT_THAT(CompileError(R"({"patternProperties": {"^a": {}}})"),
              HasSubstr("patternProperties is not supported"));
  EXPECT_THAT(CompileError(R"x({"pattern": "^(?=a)"})x"), HasSubstr("lookaround"));
  EXPECT_THAT(CompileError(R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})"),
              HasSubstr("draft-07"));
  EXPECT_THAT(CompileError(R"({"allOf": []})"), HasSubstr("non-empty array"));
  EXPECT_EQ(CompileError(R"({"items": [], "additionalItems": false})"), "");
  EXPECT_THAT(CompileError(R"({"properties": {"a": 3}})"), HasSubstr("#/properties/a"));
  EXPECT_THAT(CompileError(R"([1])"), HasSubstr("expected a schema"));
  EXPECT_THAT(CompileError(R"({"description": ")" + std::string(10000, 'x') + R"("})"),
              HasSubstr("longer than 10000"));
  EXPECT_EQ(CompileError(R"({"$schema": "http://json-schema.org/draft-07/schema#",
                             "title": "t", "examples": [1], "format": "email"})"),
            "");
}

TEST(JsonSchemaTest, PatternsAreMatchedInLinearTime) {
  auto s = MustCompile(R"({"type": "string", "pattern": "^[a-z]+$"})");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Check(*s, R"("abc")"), "");
  EXPECT_EQ(Check(*s, R"("abC")"), "/: String does not match the pattern '^[a-z]+$'.");
  // std::regex overflows the stack on this; RE2 does not care.
  EXPECT_EQ(Check(*s, "\"" + std::string(1 << 20, 'a') + "\""), "");
  auto evil = MustCompile(R"({"pattern": "(a|aa)*b"})");
  ASSERT_NE(evil, nullptr);
  auto start = std::chrono::steady_clock::now();
  EXPECT_NE(Check(*evil, "\"" + std::string(5000, 'a') + "\""), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // Patterns apply to strings only, and also inside propertyNames.
  EXPECT_EQ(Check(*evil, "5"), "");
  auto names = MustCompile(R"({"propertyNames": {"pattern": "^x"}})");
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(Check(*names, R"({"xa": 1})"), "");
  EXPECT_NE(Check(*names, R"({"ya": 1})"), "");
}

TEST(JsonSchemaTest, FormatsAreAnnotationsOnly) {
  auto s = MustCompile(R"({"type": "string", "format": "date"})");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Check(*s, R"("not a date")"), "");
  EXPECT_EQ(Check(*s, "\"" + std::string(200000, '1') + "\""), "");
}

TEST(JsonSchemaTest, UniqueItemsComparesValues) {
  auto s = MustCompile(R"({"type": "array", "uniqueItems": true})");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Check(*s, R"([1, "1", [1], {"a": 1}, {"a": 2}, null, true])"), "");
  EXPECT_EQ(Check(*s, R"([1, 2, 1.0])"),
            "/: Array items are not unique (item #2 repeats an earlier one).");
  EXPECT_NE(Check(*s, R"([{"a": 1, "b": [2]}, {"b": [2], "a": 1}])"), "");
  std::string big = "[";
  for (int i = 0; i < 100000; ++i) big += std::to_string(i) + ",";
  big += "0]";
  // Comparing every pair would take minutes.
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(Check(*s, big), HasSubstr("item #100000"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Check(*MustCompile(R"({"uniqueItems": false})"), "[1, 1]"), "");
}

TEST(JsonSchemaTest, ExplodingSchemasStopOnTheStepBudget) {
  // Each level applies the next one twice: 2^40 applications in all.
  std::string defs;
  for (int i = 0; i < 40; ++i) {
    defs += "\"d" + std::to_string(i) + "\": {\"anyOf\": [{\"$ref\": \"#/definitions/d" +
            std::to_string(i + 1) + "\"}, {\"$ref\": \"#/definitions/d" + std::to_string(i + 1) +
            "\"}]},";
  }
  defs += "\"d40\": {\"type\": \"string\"}";
  auto s = MustCompile(R"({"definitions": {)" + defs + R"(}, "$ref": "#/definitions/d0"})");
  ASSERT_NE(s, nullptr);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(Check(*s, "1"), HasSubstr("too complex"));
  // Stopped by the step budget (or, in slow builds, the 2 s time limit).
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(Check(*s, R"("text")"), "");  // the first branch matches at once
}

TEST(JsonSchemaTest, SchemasAndValuesAsDeepAsRequestsMayBe) {
  // Compiling and validating recurse level by level through schema and value:
  // both nested close to kMaxJsonDepth must be handled without trouble.
  const std::size_t levels = kMaxJsonDepth - 2;
  std::string schema = R"({"type": "integer"})";
  for (std::size_t i = 0; i < levels; ++i) schema = R"({"type": "array", "items": )" + schema + "}";
  auto s = MustCompile(schema);
  ASSERT_NE(s, nullptr);
  const std::string open(levels, '['), close(levels, ']');
  EXPECT_EQ(Check(*s, open + "1" + close), "");
  EXPECT_THAT(Check(*s, open + R"("x")" + close),
              HasSubstr("Value type not permitted by 'type' constraint."));
  // A value nested deeper than the schema is checked as far as the schema goes.
  auto any = MustCompile(R"({"type": "array"})");
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(Check(*any, std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']')), "");
}

}  // namespace
}  // namespace loupe
