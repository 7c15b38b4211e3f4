// Golden tests of the OTLP → Langfuse mapping, one case per instrumentation
// convention. Each case in testdata/ is
//   <case>.input.json     an OTLP/JSON export (the body a client sends)
//   <case>.expected.json  {"events": [...], "rejected": [...]}
// The expected events were written from the mapping rules
// (client-wire-formats.md §5), not from this code's output. They are matched
// by envelope id, all of them (no event may be missing or extra). Within an
// expected value:
//   - objects match exactly, unless they contain "$partial": true, in which
//     case only the keys listed are compared;
//   - "$absent": ["k", ...] asserts that those keys are not present;
//   - the string "<any>" matches any present value;
//   - numbers match numerically (12 and 12.0 are equal).
// "rejected" lists substrings of the expected rejection reasons, in order.
// Every case also runs through DecodeOtlpEvents, which must accept every
// event the mapping produced.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "common/json_parse.h"
#include "otlp/otlp_converter.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr int64_t kNowUs = int64_t{1767225600} * 1000000;  // 2026-01-01T00:00:00Z

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool NumbersEqual(const json::value& a, const json::value& b) {
  double x = a.to_number<double>();
  double y = b.to_number<double>();
  return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
}

void Match(const json::value& expected, const json::value* actual, const std::string& path,
           std::vector<std::string>* errors) {
  if (expected.is_string() && expected.get_string() == "<any>") {
    if (actual == nullptr) errors->push_back(path + ": missing");
    return;
  }
  if (actual == nullptr) {
    errors->push_back(path + ": missing, expected " + json::serialize(expected));
    return;
  }
  if (expected.is_number() && actual->is_number()) {
    if (!NumbersEqual(expected, *actual)) {
      errors->push_back(path + ": expected " + json::serialize(expected) + ", got " +
                        json::serialize(*actual));
    }
    return;
  }
  if (const json::object* eo = expected.if_object()) {
    const json::object* ao = actual->if_object();
    if (ao == nullptr) {
      errors->push_back(path + ": expected an object, got " + json::serialize(*actual));
      return;
    }
    bool partial = false;
    if (const json::value* p = eo->if_contains("$partial")) partial = p->is_bool() && p->get_bool();
    if (const json::value* absent = eo->if_contains("$absent")) {
      for (const json::value& k : absent->get_array()) {
        if (ao->contains(k.get_string())) {
          errors->push_back(path + "." + std::string(k.get_string()) + ": expected absent, got " +
                            json::serialize(ao->at(k.get_string())));
        }
      }
    }
    for (const auto& kv : *eo) {
      if (kv.key() == "$partial" || kv.key() == "$absent") continue;
      Match(kv.value(), ao->if_contains(kv.key()), path + "." + std::string(kv.key()), errors);
    }
    if (!partial) {
      for (const auto& kv : *ao) {
        if (!eo->contains(kv.key())) {
          errors->push_back(path + "." + std::string(kv.key()) + ": unexpected " +
                            json::serialize(kv.value()));
        }
      }
    }
    return;
  }
  if (const json::array* ea = expected.if_array()) {
    const json::array* aa = actual->if_array();
    if (aa == nullptr || aa->size() != ea->size()) {
      errors->push_back(path + ": expected " + json::serialize(expected) + ", got " +
                        json::serialize(*actual));
      return;
    }
    for (size_t i = 0; i < ea->size(); ++i) {
      Match((*ea)[i], &(*aa)[i], path + "[" + std::to_string(i) + "]", errors);
    }
    return;
  }
  if (expected != *actual) {
    errors->push_back(path + ": expected " + json::serialize(expected) + ", got " +
                      json::serialize(*actual));
  }
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesExpectedEvents) {
  const std::filesystem::path dir = LOUPE_OTLP_TESTDATA_DIR;
  const std::string name = GetParam();
  std::string input = ReadFile(dir / (name + ".input.json"));
  std::string expected_text = ReadFile(dir / (name + ".expected.json"));
  ASSERT_FALSE(input.empty()) << name;
  boost::system::error_code ec;
  json::value expected = ParseJson(expected_text, ec);
  ASSERT_FALSE(ec) << name << ".expected.json: " << ec.message();

  auto conversion = ConvertOtlpTraces(input, OtlpEncoding::kJson, kNowUs);
  ASSERT_TRUE(conversion.ok()) << conversion.status();

  std::map<std::string, const json::value*> actual_by_id;
  for (const json::value& e : conversion->events) {
    actual_by_id[std::string(e.at("id").get_string())] = &e;
  }
  std::vector<std::string> errors;
  std::set<std::string> expected_ids;
  for (const json::value& e : expected.at("events").get_array()) {
    std::string id(e.at("id").get_string());
    expected_ids.insert(id);
    auto it = actual_by_id.find(id);
    Match(e, it == actual_by_id.end() ? nullptr : it->second, id, &errors);
  }
  for (const auto& [id, e] : actual_by_id) {
    if (!expected_ids.count(id)) errors.push_back(id + ": unexpected event " + json::serialize(*e));
  }
  std::vector<std::string> expected_rejections;
  if (const json::value* r = expected.get_object().if_contains("rejected")) {
    for (const json::value& s : r->get_array()) expected_rejections.emplace_back(s.get_string());
  }
  ASSERT_EQ(conversion->rejections.size(), expected_rejections.size())
      << ::testing::PrintToString(conversion->rejections);
  for (size_t i = 0; i < expected_rejections.size(); ++i) {
    EXPECT_NE(conversion->rejections[i].find(expected_rejections[i]), std::string::npos)
        << conversion->rejections[i];
  }
  for (const std::string& e : errors) ADD_FAILURE() << e;
  if (!errors.empty()) {
    std::cerr << "actual events of " << name << ":\n";
    for (const json::value& e : conversion->events) std::cerr << json::serialize(e) << "\n";
  }

  // The whole pipeline accepts what the mapping produced.
  size_t events = conversion->events.size();
  OtlpDecoded decoded = DecodeOtlpEvents(*std::move(conversion), DecodeOptions{});
  EXPECT_EQ(decoded.events.size(), events) << decoded.error_message;
  EXPECT_EQ(decoded.rejected_spans, static_cast<int64_t>(expected_rejections.size()))
      << decoded.error_message;
}

std::vector<std::string> Cases() {
  std::vector<std::string> out;
  const std::string suffix = ".input.json";
  for (const auto& entry : std::filesystem::directory_iterator(LOUPE_OTLP_TESTDATA_DIR)) {
    std::string file = entry.path().filename().string();
    if (file.size() > suffix.size() && file.ends_with(suffix)) {
      out.push_back(file.substr(0, file.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Otlp, GoldenTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace loupe
