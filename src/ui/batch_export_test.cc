#include "ui/batch_export.h"

#include <gtest/gtest.h>

namespace loupe {
namespace {

TEST(CsvFieldTest, QuotesOnlyWhenNeededAndDoublesQuotes) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("line\nbreak"), "\"line\nbreak\"");
  EXPECT_EQ(CsvField("cr\r"), "\"cr\r\"");
}

TEST(TraceCsvTest, RowHasTheHeaderColumnsInOrder) {
  TraceRecord t;
  t.id = "t1";
  t.timestamp_ms = 1700000000123;
  t.name = "a, \"b\"";
  t.user_id = "u";
  t.environment = "prod";
  t.tags = {"x", "y"};
  t.input = boost::json::value("text");
  t.output = boost::json::parse(R"({"k":[1,2]})");
  t.metadata["m"] = 1;
  t.total_cost = 0.25;
  t.min_start_ms = 1000;
  t.max_end_ms = 2500;
  EXPECT_EQ(TraceCsvHeader(),
            "id,timestamp,name,userId,sessionId,release,version,environment,tags,latency,"
            "totalCost,input,output,metadata\r\n");
  EXPECT_EQ(TraceCsvRow(t),
            "t1,2023-11-14T22:13:20.123Z,\"a, \"\"b\"\"\",u,,,,prod,\"[\"\"x\"\",\"\"y\"\"]\",1.5,"
            "0.25,text,\"{\"\"k\"\":[1,2]}\",\"{\"\"m\"\":1}\"\r\n");
}

TEST(BatchExportKeyTest, UnsafeProjectIdsAreHashed) {
  EXPECT_EQ(BatchExportStorage::KeyFor("proj-1", "abc", "csv"), "exports/proj-1/abc.csv");
  std::string key = BatchExportStorage::KeyFor("a/../b", "abc", "jsonl");
  EXPECT_EQ(key.rfind("exports/h", 0), 0u);
  EXPECT_TRUE(ValidateBlobKey(key).ok());
}

}  // namespace
}  // namespace loupe
