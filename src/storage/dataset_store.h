#pragma once

// DatasetStore: datasets, their versioned items, and the runs (experiments)
// that link traces to items.
//
// Contract:
//  - A dataset is identified by (project, name); UpsertDataset creates it or
//    updates the fields that are given.
//  - Dataset item ids are unique per project across datasets. Items are
//    versioned: every change writes a new version valid from that moment,
//    so the items "as of" any past time can be read back; an unchanged
//    upsert writes nothing. A deleted item is gone from current reads (and
//    its run items with it) but stays in the history before its deletion.
//  - A run is identified by (dataset, name) and created by its first run
//    item, which sets its description and metadata; later run items add to
//    it. Run items only link to items that are ACTIVE (at the given dataset
//    version); the trace they name is taken as given.
//  - Writes may carry a DatasetItemCheck (e.g. the dataset's JSON schemas),
//    called inside the write's transaction: an upserted item is checked as it
//    would be stored, and a dataset upsert that changes a schema checks
//    every current item of the dataset against the updated dataset. A
//    failing check aborts the write and its status is returned.
//  - Lists are paged (1-based page, limit) and newest first.
//  - Everything is durable on return and all methods are thread-safe.
//    Errors: kNotFound (dataset, item or run missing) and kInvalidArgument
//    with messages meant for the API client; kUnavailable / kInternal for
//    storage failures. Single reads return an empty optional when missing.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json.hpp"

namespace loupe {

struct DatasetRecord {
  std::string id;
  std::string project_id;
  std::string name;
  std::optional<std::string> description;
  boost::json::value metadata;                // null when none
  boost::json::value input_schema;            // JSON Schema or null
  boost::json::value expected_output_schema;  // JSON Schema or null
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct DatasetItemRecord {
  std::string id;
  std::string project_id;
  std::string dataset_id;
  std::string dataset_name;
  std::string status = "ACTIVE";  // ACTIVE | ARCHIVED
  boost::json::value input;       // null when none
  boost::json::value expected_output;
  boost::json::value metadata;
  std::optional<std::string> source_trace_id;
  std::optional<std::string> source_observation_id;
  int64_t created_at_ms = 0;  // of the item's first version
  int64_t updated_at_ms = 0;
  int64_t valid_from_ms = 0;  // when this version became current
};

struct DatasetRunRecord {
  std::string id;
  std::string project_id;
  std::string dataset_id;
  std::string dataset_name;
  std::string name;
  std::optional<std::string> description;
  boost::json::value metadata;  // {} when none was given
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct DatasetRunItemRecord {
  std::string id;
  std::string project_id;
  std::string dataset_run_id;
  std::string dataset_run_name;
  std::string dataset_item_id;
  std::string trace_id;
  std::optional<std::string> observation_id;
  int64_t dataset_item_version_ms = 0;  // valid_from of the item version it ran on
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// Whether `item` may be stored in `dataset` (see the contract above).
using DatasetItemCheck =
    std::function<absl::Status(const DatasetRecord& dataset, const DatasetItemRecord& item)>;

// Fields left nullopt keep their stored value (or stay unset on create).
struct DatasetUpsert {
  std::string name;
  std::optional<std::string> description;
  std::optional<boost::json::value> metadata;
  std::optional<boost::json::value> input_schema;
  std::optional<boost::json::value> expected_output_schema;
  DatasetItemCheck check;  // optional
};

// Fields left nullopt keep their stored value; a new item gets null values
// and status ACTIVE.
struct DatasetItemUpsert {
  std::string dataset_name;
  std::optional<std::string> id;  // generated when absent
  std::optional<boost::json::value> input;
  std::optional<boost::json::value> expected_output;
  std::optional<boost::json::value> metadata;
  std::optional<std::string> source_trace_id;
  std::optional<std::string> source_observation_id;
  std::optional<std::string> status;
  DatasetItemCheck check;  // optional
};

struct DatasetItemQuery {
  std::optional<std::string> dataset_name;
  std::optional<std::string> source_trace_id;
  std::optional<std::string> source_observation_id;
  std::optional<int64_t> as_of_ms;  // items as they were then; needs dataset_name
  int page = 1;
  int limit = 50;
};

struct NewDatasetRunItem {
  std::string run_name;
  std::optional<std::string> run_description;  // used when the run is created
  boost::json::value run_metadata;             // used when the run is created; null → {}
  std::string dataset_item_id;
  std::string trace_id;
  std::optional<std::string> observation_id;
  std::optional<int64_t> dataset_version_ms;  // the item must be ACTIVE as of then
  std::optional<int64_t> created_at_ms;       // default: now
};

// Which runs an experiments read covers. Each non-empty list restricts the
// runs to those matching one of its values; all lists empty: every run.
struct RunSelection {
  std::vector<std::string> run_ids;
  std::vector<std::string> run_names;
  std::vector<std::string> dataset_ids;
};

template <typename T>
struct DatasetPage {
  std::vector<T> items;
  int64_t total_items = 0;
};

class DatasetStore {
 public:
  virtual ~DatasetStore() = default;

  virtual absl::StatusOr<DatasetRecord> UpsertDataset(const std::string& project_id,
                                                      const DatasetUpsert& d) = 0;
  virtual absl::StatusOr<std::optional<DatasetRecord>> GetDataset(const std::string& project_id,
                                                                  const std::string& name) = 0;
  virtual absl::StatusOr<DatasetPage<DatasetRecord>> ListDatasets(const std::string& project_id,
                                                                  int page, int limit) = 0;

  // kNotFound when the dataset does not exist or the id belongs to an item
  // of another dataset.
  virtual absl::StatusOr<DatasetItemRecord> UpsertItem(const std::string& project_id,
                                                       const DatasetItemUpsert& item) = 0;
  // The current version, or the one valid at `as_of_ms`.
  virtual absl::StatusOr<std::optional<DatasetItemRecord>> GetItem(
      const std::string& project_id, const std::string& id,
      std::optional<int64_t> as_of_ms = std::nullopt) = 0;
  // kNotFound when query.dataset_name names no dataset.
  virtual absl::StatusOr<DatasetPage<DatasetItemRecord>> ListItems(
      const std::string& project_id, const DatasetItemQuery& query) = 0;
  // Every current item of a dataset, newest first.
  virtual absl::StatusOr<std::vector<DatasetItemRecord>> ItemsOfDataset(
      const std::string& project_id, const std::string& dataset_id) = 0;
  // False when there is no such (current) item.
  virtual absl::StatusOr<bool> DeleteItem(const std::string& project_id, const std::string& id) = 0;

  // kNotFound "Dataset item not found" unless the item is ACTIVE.
  virtual absl::StatusOr<DatasetRunItemRecord> CreateRunItem(const std::string& project_id,
                                                             const NewDatasetRunItem& item) = 0;
  virtual absl::StatusOr<std::optional<DatasetRunRecord>> GetRun(const std::string& project_id,
                                                                 const std::string& dataset_id,
                                                                 const std::string& run_name) = 0;
  virtual absl::StatusOr<DatasetPage<DatasetRunRecord>> ListRuns(const std::string& project_id,
                                                                 const std::string& dataset_id,
                                                                 int page, int limit) = 0;
  virtual absl::StatusOr<DatasetPage<DatasetRunItemRecord>> ListRunItems(
      const std::string& project_id, const std::string& run_id, int page, int limit) = 0;
  // Every run item of a run, in the order they were created.
  virtual absl::StatusOr<std::vector<DatasetRunItemRecord>> RunItemsOfRun(
      const std::string& project_id, const std::string& run_id) = 0;
  // The project's runs matching `selection`, newest first.
  virtual absl::StatusOr<std::vector<DatasetRunRecord>> FindRuns(const std::string& project_id,
                                                                 const RunSelection& selection) = 0;
  // The run items of the given runs, restricted to those of `item_ids` when
  // it is not empty, oldest first.
  virtual absl::StatusOr<std::vector<DatasetRunItemRecord>> RunItemsOfRuns(
      const std::string& project_id, const std::vector<std::string>& run_ids,
      const std::vector<std::string>& item_ids) = 0;
  // Deletes the run and its run items; false when there is no such run.
  virtual absl::StatusOr<bool> DeleteRun(const std::string& project_id,
                                         const std::string& run_id) = 0;

  virtual void Close() = 0;
};

}  // namespace loupe
