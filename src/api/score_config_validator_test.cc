#include "api/score_config_validator.h"

#include <gtest/gtest.h>

#include <map>

#include "ingest/batch_decoder.h"

namespace loupe {
namespace {

namespace json = boost::json;

class FakeConfigStore : public ScoreConfigStore {
 public:
  absl::Status Create(const ScoreConfigRecord& c) override {
    configs_[c.id] = c;
    return absl::OkStatus();
  }
  absl::Status Update(const ScoreConfigRecord& c) override { return Create(c); }
  absl::StatusOr<std::optional<ScoreConfigRecord>> Get(const std::string& project_id,
                                                       const std::string& id) override {
    auto it = configs_.find(id);
    if (it == configs_.end() || it->second.project_id != project_id) {
      return std::optional<ScoreConfigRecord>();
    }
    return std::optional<ScoreConfigRecord>(it->second);
  }
  absl::StatusOr<PageResult<ScoreConfigRecord>> List(const std::string&,
                                                     const PageRequest&) override {
    return PageResult<ScoreConfigRecord>();
  }

 private:
  std::map<std::string, ScoreConfigRecord> configs_;
};

ScoreConfigRecord Config(const std::string& id, const std::string& type) {
  ScoreConfigRecord c;
  c.id = id;
  c.project_id = "p";
  c.name = id + "-name";
  c.data_type = type;
  return c;
}

// A score event as the decoder produces it.
IngestEvent Decode(json::object body) {
  json::object envelope;
  envelope["id"] = "ev-" + std::string(body["id"].as_string());
  envelope["type"] = "score-create";
  envelope["timestamp"] = "2025-01-01T00:00:00.000Z";
  envelope["body"] = std::move(body);
  DecodedBatch batch;
  DecodeEvent(envelope, {}, &batch);
  EXPECT_TRUE(batch.errors.empty()) << batch.errors[0].error;
  EXPECT_EQ(batch.events.size(), 1u);
  return batch.events.empty() ? IngestEvent() : std::move(batch.events[0]);
}

json::object Score(const std::string& id, json::value value, const std::string& config_id) {
  json::object b;
  b["id"] = id;
  b["traceId"] = "t";
  b["name"] = "client-name";
  b["value"] = std::move(value);
  b["configId"] = config_id;
  return b;
}

class ValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ScoreConfigRecord numeric = Config("num", "NUMERIC");
    numeric.min_value = 0;
    numeric.max_value = 10;
    ASSERT_TRUE(store_.Create(numeric).ok());
    ScoreConfigRecord cat = Config("cat", "CATEGORICAL");
    cat.categories = std::vector<ScoreConfigCategory>{{0, "bad"}, {2, "good"}};
    ASSERT_TRUE(store_.Create(cat).ok());
    ScoreConfigRecord boolean = Config("bool", "BOOLEAN");
    boolean.categories = BooleanScoreConfigCategories();
    ASSERT_TRUE(store_.Create(boolean).ok());
    ASSERT_TRUE(store_.Create(Config("text", "TEXT")).ok());
    ScoreConfigRecord archived = Config("old", "NUMERIC");
    archived.is_archived = true;
    ASSERT_TRUE(store_.Create(archived).ok());
  }

  absl::Status Check(IngestEvent& e) { return validator_.Validate("p", e); }

  FakeConfigStore store_;
  ScoreConfigValidator validator_{store_};
};

TEST_F(ValidatorTest, NumericRangeAndNameOverride) {
  IngestEvent ok = Decode(Score("s1", 7.5, "num"));
  ASSERT_TRUE(Check(ok).ok());
  EXPECT_EQ(ok.body.at("name").as_string(), "num-name");
  EXPECT_EQ(ok.body.at("dataType").as_string(), "NUMERIC");

  IngestEvent high = Decode(Score("s2", 11, "num"));
  absl::Status s = Check(high);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("exceeds maximum value of 10"), std::string::npos) << s;
  EXPECT_EQ(high.body.at("name").as_string(), "client-name");  // untouched on failure

  IngestEvent low = Decode(Score("s3", -1, "num"));
  EXPECT_NE(Check(low).message().find("below minimum value of 0"), std::string::npos);

  IngestEvent text = Decode(Score("s4", "high", "num"));
  EXPECT_NE(Check(text).message().find("Data type mismatch"), std::string::npos);
}

TEST_F(ValidatorTest, CategoricalMapsLabelToValue) {
  IngestEvent ok = Decode(Score("s1", "good", "cat"));
  ASSERT_TRUE(Check(ok).ok());
  EXPECT_EQ(ok.body.at("value").to_number<double>(), 2);
  EXPECT_EQ(ok.body.at("stringValue").as_string(), "good");
  EXPECT_EQ(ok.body.at("dataType").as_string(), "CATEGORICAL");

  IngestEvent unknown = Decode(Score("s2", "meh", "cat"));
  EXPECT_NE(Check(unknown).message().find("does not map to a valid category"), std::string::npos);
  IngestEvent number = Decode(Score("s3", 2, "cat"));
  EXPECT_EQ(Check(number).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ValidatorTest, BooleanAcceptsZeroOrOne) {
  IngestEvent one = Decode(Score("s1", 1, "bool"));
  ASSERT_TRUE(Check(one).ok());
  EXPECT_EQ(one.body.at("dataType").as_string(), "BOOLEAN");
  EXPECT_EQ(one.body.at("stringValue").as_string(), "True");
  IngestEvent zero = Decode(Score("s2", 0, "bool"));
  ASSERT_TRUE(Check(zero).ok());
  EXPECT_EQ(zero.body.at("stringValue").as_string(), "False");
  IngestEvent two = Decode(Score("s3", 2, "bool"));
  EXPECT_NE(Check(two).message().find("either 0 or 1"), std::string::npos);
  IngestEvent label = Decode(Score("s4", "True", "bool"));
  EXPECT_EQ(Check(label).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ValidatorTest, ExplicitDataTypeMustMatch) {
  json::object b = Score("s1", 1, "num");
  b["dataType"] = "BOOLEAN";
  IngestEvent e = Decode(std::move(b));
  absl::Status s = Check(e);
  EXPECT_EQ(s.message(), "Data type mismatch based on config: expected NUMERIC, got BOOLEAN");
}

TEST_F(ValidatorTest, TextConfig) {
  IngestEvent ok = Decode(Score("s1", "free text", "text"));
  ASSERT_TRUE(Check(ok).ok());
  EXPECT_EQ(ok.body.at("dataType").as_string(), "TEXT");
  IngestEvent number = Decode(Score("s2", 3, "text"));
  EXPECT_EQ(Check(number).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ValidatorTest, MissingOrArchivedConfig) {
  IngestEvent missing = Decode(Score("s1", 1, "nope"));
  EXPECT_EQ(Check(missing).message(),
            "The configId you provided does not match a valid config in this project");
  IngestEvent archived = Decode(Score("s2", 1, "old"));
  EXPECT_NE(Check(archived).message().find("archived"), std::string::npos);
  // Configs of other projects are invisible.
  IngestEvent other = Decode(Score("s3", 1, "num"));
  EXPECT_EQ(validator_.Validate("other-project", other).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ValidatorTest, BatchMovesFailuresToErrors) {
  DecodedBatch batch;
  for (auto [id, value, config] :
       {std::tuple{"a", json::value(5), "num"}, std::tuple{"b", json::value(50), "num"},
        std::tuple{"c", json::value("good"), "cat"}}) {
    json::object envelope;
    envelope["id"] = std::string("ev-") + id;
    envelope["type"] = "score-create";
    envelope["timestamp"] = "2025-01-01T00:00:00.000Z";
    envelope["body"] = Score(id, value, config);
    DecodeEvent(envelope, {}, &batch);
  }
  ASSERT_EQ(batch.events.size(), 3u);
  ASSERT_TRUE(validator_.ValidateBatch("p", &batch).ok());
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.successes, (std::vector<std::string>{"ev-a", "ev-c"}));
  ASSERT_EQ(batch.errors.size(), 1u);
  EXPECT_EQ(batch.errors[0].id, "ev-b");
  EXPECT_EQ(batch.errors[0].status, 400);
}

TEST(ScoreConfigRulesTest, Names) {
  EXPECT_TRUE(ValidateScoreConfigName("helpfulness (v2)_x-1.0").ok());
  EXPECT_TRUE(ValidateScoreConfigName("Qualität").ok());
  EXPECT_FALSE(ValidateScoreConfigName("").ok());
  EXPECT_FALSE(ValidateScoreConfigName(std::string(36, 'a')).ok());
  EXPECT_FALSE(ValidateScoreConfigName("a/b").ok());
}

TEST(ScoreConfigRulesTest, DataTypes) {
  ScoreConfigRecord numeric = Config("n", "NUMERIC");
  numeric.min_value = 5;
  numeric.max_value = 5;
  EXPECT_FALSE(ValidateScoreConfigRules(numeric).ok());
  numeric.max_value = 6;
  EXPECT_TRUE(ValidateScoreConfigRules(numeric).ok());

  ScoreConfigRecord cat = Config("c", "CATEGORICAL");
  EXPECT_FALSE(ValidateScoreConfigRules(cat).ok());  // categories required
  cat.categories = std::vector<ScoreConfigCategory>{{0, "a"}, {0, "b"}};
  EXPECT_NE(ValidateScoreConfigRules(cat).message().find("Duplicate category value"),
            std::string::npos);
  cat.categories = std::vector<ScoreConfigCategory>{{0, "a"}, {1, "a"}};
  EXPECT_NE(ValidateScoreConfigRules(cat).message().find("Duplicate category label"),
            std::string::npos);
  cat.categories = std::vector<ScoreConfigCategory>{{0, "a"}, {1, "b"}};
  EXPECT_TRUE(ValidateScoreConfigRules(cat).ok());
  cat.min_value = 0;
  EXPECT_FALSE(ValidateScoreConfigRules(cat).ok());

  ScoreConfigRecord boolean = Config("b", "BOOLEAN");
  boolean.categories = BooleanScoreConfigCategories();
  EXPECT_TRUE(ValidateScoreConfigRules(boolean).ok());
  boolean.categories = std::vector<ScoreConfigCategory>{{0, "False"}, {1, "True"}};
  EXPECT_FALSE(ValidateScoreConfigRules(boolean).ok());
}

}  // namespace
}  // namespace loupe
