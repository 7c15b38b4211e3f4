#include "storage/postgres/pg_admin_stores.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "boost/json.hpp"
#include "common/json_parse.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/pricing_tier_json.h"
#include "storage/sqlite/json_columns.h"

namespace loupe {
namespace {

namespace json = boost::json;
using pg::Conn;
using pg::Params;
using pg::Result;

// The tables are those of the SQLite stores, column for column, with these
// differences:
//  - times are epoch milliseconds in BIGINT, flags BOOLEAN, numbers DOUBLE
//    PRECISION; lists of strings stay JSON text as in SQLite;
//  - `seq` (BIGSERIAL) stands in for SQLite's rowid where a listing breaks
//    ties by insertion order;
//  - orderings on text columns compare bytes (COLLATE "C"), as SQLite does,
//    whatever the database's collation.

const std::vector<pg::Migration>& ScoreConfigMigrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE score_configs(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  data_type TEXT NOT NULL,
  is_archived BOOLEAN NOT NULL DEFAULT FALSE,
  min_value DOUBLE PRECISION,
  max_value DOUBLE PRECISION,
  categories TEXT,
  description TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  seq BIGSERIAL);
CREATE INDEX score_configs_by_project ON score_configs(project_id, created_at, seq);
)sql"},
  };
  return kMigrations;
}

const std::vector<pg::Migration>& ModelMigrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE models(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  model_name TEXT NOT NULL,
  match_pattern TEXT NOT NULL,
  start_date BIGINT,
  unit TEXT,
  tokenizer_id TEXT,
  tokenizer_config TEXT,
  pricing_tiers TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  seq BIGSERIAL,
  UNIQUE(project_id, model_name));
)sql"},
  };
  return kMigrations;
}

const std::vector<pg::Migration>& CommentMigrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE comments(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  content TEXT NOT NULL,
  author_user_id TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  seq BIGSERIAL);
CREATE INDEX comments_by_object ON comments(project_id, object_type, object_id);
CREATE INDEX comments_by_project ON comments(project_id, seq);
)sql"},
  };
  return kMigrations;
}

const std::vector<pg::Migration>& AnnotationQueueMigrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE annotation_queues(
  id TEXT COLLATE "C" PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  score_config_ids TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE(project_id, name));
CREATE INDEX annotation_queues_by_time ON annotation_queues(project_id, created_at, id);
CREATE TABLE annotation_queue_items(
  id TEXT COLLATE "C" PRIMARY KEY,
  project_id TEXT NOT NULL,
  queue_id TEXT NOT NULL,
  object_id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  status TEXT NOT NULL,
  completed_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL);
CREATE INDEX annotation_queue_items_by_queue
  ON annotation_queue_items(project_id, queue_id, created_at);
CREATE TABLE annotation_queue_assignments(
  project_id TEXT NOT NULL,
  queue_id TEXT NOT NULL,
  user_id TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY(project_id, queue_id, user_id));
)sql"},
  };
  return kMigrations;
}

// secret_key and extra_headers hold ciphertext (iv:ciphertext:tag, hex).
const std::vector<pg::Migration>& LlmConnectionMigrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE llm_connections(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  adapter TEXT NOT NULL,
  secret_key TEXT NOT NULL,
  display_secret_key TEXT NOT NULL,
  base_url TEXT,
  custom_models TEXT NOT NULL,
  with_default_models BOOLEAN NOT NULL,
  extra_headers TEXT,
  extra_header_keys TEXT NOT NULL,
  config TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  seq BIGSERIAL,
  UNIQUE(project_id, provider));
CREATE INDEX llm_connections_by_time ON llm_connections(project_id, created_at, seq);
)sql"},
  };
  return kMigrations;
}

// Links live in one table per kind of object, as in Langfuse (trace_media,
// observation_media, dataset item media), so each has a natural unique key.
const std::vector<pg::Migration>& MediaMigrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE media(
  project_id TEXT NOT NULL,
  id TEXT NOT NULL,
  sha256_hash TEXT NOT NULL,
  content_type TEXT NOT NULL,
  content_length BIGINT NOT NULL,
  blob_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  uploaded_at BIGINT,
  reported_uploaded_at BIGINT,
  upload_http_status BIGINT,
  upload_http_error TEXT,
  upload_time_ms BIGINT,
  PRIMARY KEY(project_id, id),
  UNIQUE(project_id, sha256_hash));
CREATE TABLE trace_media(
  project_id TEXT NOT NULL,
  media_id TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  field TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  seq BIGSERIAL,
  PRIMARY KEY(project_id, trace_id, media_id, field));
CREATE TABLE observation_media(
  project_id TEXT NOT NULL,
  media_id TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  observation_id TEXT NOT NULL,
  field TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  seq BIGSERIAL,
  PRIMARY KEY(project_id, observation_id, media_id, field));
CREATE TABLE dataset_item_media(
  project_id TEXT NOT NULL,
  media_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  dataset_item_id TEXT NOT NULL,
  field TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  seq BIGSERIAL,
  PRIMARY KEY(project_id, dataset_item_id, media_id, field));
CREATE INDEX trace_media_by_media ON trace_media(project_id, media_id);
CREATE INDEX observation_media_by_media ON observation_media(project_id, media_id);
CREATE INDEX dataset_item_media_by_media ON dataset_item_media(project_id, media_id);
)sql"},
  };
  return kMigrations;
}

// ---- Values in and out of text parameters and columns.

// The shortest text that reads back as the same double.
std::string DoubleText(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  std::string out(buf, end);
  // PostgreSQL spells the infinities out.
  if (out == "inf") return "Infinity";
  if (out == "-inf") return "-Infinity";
  if (out == "nan" || out == "-nan") return "NaN";
  return out;
}

// SQLite stores a NaN as NULL; so does this.
std::optional<std::string> OptDoubleText(const std::optional<double>& v) {
  if (!v || std::isnan(*v)) return std::nullopt;
  return DoubleText(*v);
}

std::optional<double> OptDouble(const pg::Row& r, int col) {
  std::optional<std::string> text = r.OptText(col);
  if (!text) return std::nullopt;
  double v = 0;
  std::from_chars(text->data(), text->data() + text->size(), v);  // "Infinity" too
  return v;
}

const char* BoolText(bool v) { return v ? "true" : "false"; }

bool Bool(const pg::Row& r, int col) { return r.Text(col) == "t"; }

std::optional<std::string> NonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

// SQLite reports a duplicate primary key of a table without an explicit
// uniqueness rule as a failed statement (kInternal), not as kAlreadyExists;
// the same case answers the same here.
absl::Status UniqueAsInternal(absl::Status s) {
  if (absl::IsAlreadyExists(s)) return absl::InternalError(s.message());
  return s;
}

// ---- Running statements on the pool.

// PostgreSQL's text cannot hold a NUL character, and libpq would cut a
// parameter short at the first one: such a value is refused rather than
// stored shortened. (SQLite keeps it.)
absl::StatusOr<Result> Run(Conn& c, const std::string& sql, const Params& params = Params()) {
  for (const std::optional<std::string>& v : params.values()) {
    if (v && v->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("PostgreSQL cannot store text with a NUL character");
    }
  }
  return c.Exec(sql, params);
}

class PgStore {
 protected:
  explicit PgStore(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  absl::Status Exec(const std::string& sql, const Params& params) {
    return pool_->With([&](Conn& c) { return Run(c, sql, params).status(); });
  }

  absl::StatusOr<int64_t> Affected(const std::string& sql, const Params& params) {
    int64_t n = 0;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, Run(c, sql, params));
          n = r.affected();
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return n;
  }

  // The first row of the result, mapped by `read`.
  template <typename Read>
  auto One(const std::string& sql, const Params& params, Read read)
      -> absl::StatusOr<std::optional<decltype(read(std::declval<const pg::Row&>()))>> {
    std::optional<decltype(read(std::declval<const pg::Row&>()))> out;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, Run(c, sql, params));
          if (r.rows() > 0) out = read(r.row(0));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  template <typename Read>
  auto All(const std::string& sql, const Params& params, Read read)
      -> absl::StatusOr<std::vector<decltype(read(std::declval<const pg::Row&>()))>> {
    std::vector<decltype(read(std::declval<const pg::Row&>()))> out;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, Run(c, sql, params));
          out.reserve(r.rows());
          for (int i = 0; i < r.rows(); ++i) out.push_back(read(r.row(i)));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  // One page of a listing and the count of all its rows, from one snapshot
  // (as the SQLite stores read both under one lock). `rows_sql` takes the
  // parameters of `count_sql` and then LIMIT and OFFSET.
  template <typename Read>
  auto Page(const std::string& count_sql, const std::string& rows_sql, const Params& params,
            const PageRequest& page, Read read)
      -> absl::StatusOr<PageResult<decltype(read(std::declval<const pg::Row&>()))>> {
    PageResult<decltype(read(std::declval<const pg::Row&>()))> out;
    // SQLite reads a negative LIMIT as "no limit" and a negative OFFSET as 0.
    Params rows_params = params;
    rows_params.Add(page.limit < 0 ? std::optional<int64_t>() : std::optional<int64_t>(page.limit));
    rows_params.Add(std::max<int64_t>(0, static_cast<int64_t>(page.page - 1) * page.limit));
    if (absl::Status done = Transaction([&](Conn& c) -> absl::Status {
          RETURN_IF_ERROR(
              Run(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").status());
          ASSIGN_OR_RETURN(Result count, Run(c, count_sql, params));
          out.total_items = count.rows() ? count.row(0).Int(0) : 0;
          ASSIGN_OR_RETURN(Result rows, Run(c, rows_sql, rows_params));
          out.items.clear();
          out.items.reserve(rows.rows());
          for (int i = 0; i < rows.rows(); ++i) out.items.push_back(read(rows.row(i)));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::Status Transaction(const std::function<absl::Status(Conn&)>& body) {
    return pool_->With([&](Conn& c) { return c.InTransaction([&] { return body(c); }); });
  }

  std::shared_ptr<pg::Pool> pool_;
};

// ---- Score configs.

constexpr const char* kScoreConfigColumns =
    "id, project_id, name, data_type, is_archived, min_value, max_value, categories, "
    "description, created_at, updated_at";

// Categories are JSON text ([{"value":…, "label":…}]), NULL when the config
// has none, as in SQLite.
std::optional<std::string> CategoriesToJson(
    const std::optional<std::vector<ScoreConfigCategory>>& categories) {
  if (!categories) return std::nullopt;
  json::array arr;
  for (const ScoreConfigCategory& c : *categories) {
    json::object o;
    o["value"] = c.value;
    o["label"] = c.label;
    arr.push_back(std::move(o));
  }
  return json::serialize(arr);
}

std::optional<std::vector<ScoreConfigCategory>> CategoriesFromJson(
    const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = ParseStoredJson(*text, ec);
  const json::array* arr = ec ? nullptr : v.if_array();
  if (!arr) return std::nullopt;
  std::vector<ScoreConfigCategory> out;
  for (const json::value& e : *arr) {
    const json::object* o = e.if_object();
    if (!o) continue;
    ScoreConfigCategory c;
    if (const json::value* value = o->if_contains("value")) {
      if (value->is_number()) c.value = value->to_number<double>(ec);
    }
    if (const json::value* label = o->if_contains("label"); label && label->is_string()) {
      c.label = std::string(label->get_string());
    }
    out.push_back(std::move(c));
  }
  return out;
}

ScoreConfigRecord ReadScoreConfig(const pg::Row& r) {
  ScoreConfigRecord c;
  c.id = r.Text(0);
  c.project_id = r.Text(1);
  c.name = r.Text(2);
  c.data_type = r.Text(3);
  c.is_archived = Bool(r, 4);
  c.min_value = OptDouble(r, 5);
  c.max_value = OptDouble(r, 6);
  c.categories = CategoriesFromJson(r.OptText(7));
  c.description = r.OptText(8);
  c.created_at_ms = r.Int(9);
  c.updated_at_ms = r.Int(10);
  return c;
}

class PgScoreConfigStore final : public ScoreConfigStore, PgStore {
 public:
  explicit PgScoreConfigStore(std::shared_ptr<pg::Pool> pool) : PgStore(std::move(pool)) {}

  absl::Status Create(const ScoreConfigRecord& c) override {
    ASSIGN_OR_RETURN(int64_t n,
                     Affected(std::string("INSERT INTO score_configs(") + kScoreConfigColumns +
                                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) "
                                  "ON CONFLICT DO NOTHING",
                              Params()
                                  .Add(c.id)
                                  .Add(c.project_id)
                                  .Add(c.name)
                                  .Add(c.data_type)
                                  .Add(BoolText(c.is_archived))
                                  .Add(OptDoubleText(c.min_value))
                                  .Add(OptDoubleText(c.max_value))
                                  .Add(CategoriesToJson(c.categories))
                                  .Add(c.description)
                                  .Add(c.created_at_ms)
                                  .Add(c.updated_at_ms)));
    if (n == 0) return absl::AlreadyExistsError("A score config with this id already exists");
    return absl::OkStatus();
  }

  absl::Status Update(const ScoreConfigRecord& c) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("UPDATE score_configs SET name = $3, data_type = $4, "
                                         "is_archived = $5, min_value = $6, max_value = $7, "
                                         "categories = $8, description = $9, updated_at = $10 "
                                         "WHERE id = $1 AND project_id = $2",
                                         Params()
                                             .Add(c.id)
                                             .Add(c.project_id)
                                             .Add(c.name)
                                             .Add(c.data_type)
                                             .Add(BoolText(c.is_archived))
                                             .Add(OptDoubleText(c.min_value))
                                             .Add(OptDoubleText(c.max_value))
                                             .Add(CategoriesToJson(c.categories))
                                             .Add(c.description)
                                             .Add(c.updated_at_ms)));
    if (n == 0) return absl::NotFoundError("Score config not found");
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<ScoreConfigRecord>> Get(const std::string& project_id,
                                                       const std::string& id) override {
    return One(std::string("SELECT ") + kScoreConfigColumns +
                   " FROM score_configs WHERE id = $1 AND project_id = $2",
               Params().Add(id).Add(project_id), ReadScoreConfig);
  }

  absl::StatusOr<PageResult<ScoreConfigRecord>> List(const std::string& project_id,
                                                     const PageRequest& page) override {
    return Page("SELECT COUNT(*) FROM score_configs WHERE project_id = $1",
                std::string("SELECT ") + kScoreConfigColumns +
                    " FROM score_configs WHERE project_id = $1 ORDER BY created_at DESC, seq "
                    "DESC LIMIT $2 OFFSET $3",
                Params().Add(project_id), page, ReadScoreConfig);
  }
};

// ---- Models.

constexpr const char* kModelColumns =
    "id, project_id, model_name, match_pattern, start_date, unit, tokenizer_id, "
    "tokenizer_config, pricing_tiers, created_at, updated_at";

// A model's pricing tiers live in one JSON column, as in SQLite.
absl::StatusOr<ModelPrice> ReadModel(const pg::Row& r) {
  ModelPrice m;
  m.id = r.Text(0);
  m.project_id = r.Text(1);
  m.model_name = r.Text(2);
  m.match_pattern = r.Text(3);
  m.start_date_ms = r.OptInt(4);
  m.unit = r.OptText(5).value_or("");
  m.tokenizer_id = r.OptText(6).value_or("");
  m.tokenizer_config_json = r.OptText(7).value_or("");
  boost::system::error_code ec;
  json::value tiers = ParseStoredJson(r.Text(8), ec);
  if (ec) return absl::DataLossError("models: unreadable pricing tiers of model " + m.id);
  ASSIGN_OR_RETURN(m.tiers, PricingTiersFromJson(tiers));
  m.created_at_ms = r.Int(9);
  m.updated_at_ms = r.Int(10);
  return m;
}

class PgModelStore final : public ModelStore, PgStore {
 public:
  explicit PgModelStore(std::shared_ptr<pg::Pool> pool) : PgStore(std::move(pool)) {}

  absl::Status Create(const ModelPrice& m) override {
    // Taken id or taken name: one answer, also when another process inserts
    // meanwhile.
    ASSIGN_OR_RETURN(int64_t n, Affected(std::string("INSERT INTO models(") + kModelColumns +
                                             ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) "
                                             "ON CONFLICT DO NOTHING",
                                         Params()
                                             .Add(m.id)
                                             .Add(m.project_id)
                                             .Add(m.model_name)
                                             .Add(m.match_pattern)
                                             .Add(m.start_date_ms)
                                             .Add(NonEmpty(m.unit))
                                             .Add(NonEmpty(m.tokenizer_id))
                                             .Add(NonEmpty(m.tokenizer_config_json))
                                             .Add(json::serialize(PricingTiersToJson(m.tiers)))
                                             .Add(m.created_at_ms)
                                             .Add(m.updated_at_ms)));
    if (n == 0) {
      return absl::AlreadyExistsError("Model name '" + m.model_name +
                                      "' already exists in project");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<ModelPrice>> Get(const std::string& project_id,
                                                const std::string& id) override {
    ASSIGN_OR_RETURN(auto row, One(std::string("SELECT ") + kModelColumns +
                                       " FROM models WHERE id = $1 AND project_id = $2",
                                   Params().Add(id).Add(project_id), ReadModel));
    if (!row) return std::optional<ModelPrice>();
    ASSIGN_OR_RETURN(ModelPrice m, *std::move(row));
    return std::optional<ModelPrice>(std::move(m));
  }

  absl::StatusOr<std::vector<ModelPrice>> ListProject(const std::string& project_id) override {
    ASSIGN_OR_RETURN(auto rows, All(std::string("SELECT ") + kModelColumns +
                                        " FROM models WHERE project_id = $1 ORDER BY "
                                        "created_at, seq",
                                    Params().Add(project_id), ReadModel));
    std::vector<ModelPrice> out;
    out.reserve(rows.size());
    for (auto& row : rows) {
      ASSIGN_OR_RETURN(ModelPrice m, std::move(row));
      out.push_back(std::move(m));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> ProjectsWithModels() override {
    // SQLite answers from its (project_id, model_name) index: by project id,
    // byte for byte.
    return All("SELECT DISTINCT project_id COLLATE \"C\" FROM models ORDER BY 1", Params(),
               [](const pg::Row& r) { return r.Text(0); });
  }

  absl::StatusOr<bool> Delete(const std::string& project_id, const std::string& id) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("DELETE FROM models WHERE id = $1 AND project_id = $2",
                                         Params().Add(id).Add(project_id)));
    return n > 0;
  }
};

// ---- Comments.

constexpr const char* kCommentColumns =
    "id, project_id, object_type, object_id, content, author_user_id, created_at, updated_at";

CommentRecord ReadComment(const pg::Row& r) {
  CommentRecord c;
  c.id = r.Text(0);
  c.project_id = r.Text(1);
  c.object_type = r.Text(2);
  c.object_id = r.Text(3);
  c.content = r.Text(4);
  c.author_user_id = r.OptText(5);
  c.created_at_ms = r.Int(6);
  c.updated_at_ms = r.Int(7);
  return c;
}

class PgCommentStore final : public CommentStore, PgStore {
 public:
  explicit PgCommentStore(std::shared_ptr<pg::Pool> pool) : PgStore(std::move(pool)) {}

  absl::Status Create(const CommentRecord& c) override {
    return UniqueAsInternal(Exec(std::string("INSERT INTO comments(") + kCommentColumns +
                                     ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                                 Params()
                                     .Add(c.id)
                                     .Add(c.project_id)
                                     .Add(c.object_type)
                                     .Add(c.object_id)
                                     .Add(c.content)
                                     .Add(c.author_user_id)
                                     .Add(c.created_at_ms)
                                     .Add(c.updated_at_ms)));
  }

  absl::StatusOr<std::optional<CommentRecord>> Get(const std::string& project_id,
                                                   const std::string& id) override {
    return One(std::string("SELECT ") + kCommentColumns +
                   " FROM comments WHERE id = $1 AND project_id = $2",
               Params().Add(id).Add(project_id), ReadComment);
  }

  absl::StatusOr<PageResult<CommentRecord>> List(const std::string& project_id,
                                                 const CommentQuery& q) override {
    // Absent filters are NULL and match everything, so one statement serves
    // every combination.
    const std::string where =
        " FROM comments WHERE project_id = $1 AND ($2::text IS NULL OR object_type = $2) AND "
        "($3::text IS NULL OR object_id = $3) AND ($4::text IS NULL OR author_user_id = $4)";
    return Page(
        "SELECT COUNT(*)" + where,
        std::string("SELECT ") + kCommentColumns + where + " ORDER BY seq LIMIT $5 OFFSET $6",
        Params().Add(project_id).Add(q.object_type).Add(q.object_id).Add(q.author_user_id), q.page,
        ReadComment);
  }
};

// ---- Annotation queues.

constexpr const char* kQueueColumns =
    "id, project_id, name, description, score_config_ids, created_at, updated_at";
constexpr const char* kItemColumns =
    "id, project_id, queue_id, object_id, object_type, status, completed_at, created_at, "
    "updated_at";

AnnotationQueueRecord ReadQueue(const pg::Row& r) {
  AnnotationQueueRecord q;
  q.id = r.Text(0);
  q.project_id = r.Text(1);
  q.name = r.Text(2);
  q.description = r.OptText(3);
  q.score_config_ids = sqlite::StringsFromJson(r.Text(4));
  q.created_at_ms = r.Int(5);
  q.updated_at_ms = r.Int(6);
  return q;
}

AnnotationQueueItemRecord ReadItem(const pg::Row& r) {
  AnnotationQueueItemRecord i;
  i.id = r.Text(0);
  i.project_id = r.Text(1);
  i.queue_id = r.Text(2);
  i.object_id = r.Text(3);
  i.object_type = r.Text(4);
  i.status = r.Text(5);
  i.completed_at_ms = r.OptInt(6);
  i.created_at_ms = r.Int(7);
  i.updated_at_ms = r.Int(8);
  return i;
}

class PgAnnotationQueueStore final : public AnnotationQueueStore, PgStore {
 public:
  explicit PgAnnotationQueueStore(std::shared_ptr<pg::Pool> pool) : PgStore(std::move(pool)) {}

  absl::Status CreateQueue(const AnnotationQueueRecord& q) override {
    // A taken id or name, also when another process inserts meanwhile.
    ASSIGN_OR_RETURN(int64_t n,
                     Affected(std::string("INSERT INTO annotation_queues(") + kQueueColumns +
                                  ") VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO "
                                  "NOTHING",
                              Params()
                                  .Add(q.id)
                                  .Add(q.project_id)
                                  .Add(q.name)
                                  .Add(q.description)
                                  .Add(sqlite::StringsToJson(q.score_config_ids))
                                  .Add(q.created_at_ms)
                                  .Add(q.updated_at_ms)));
    if (n == 0) return absl::AlreadyExistsError("A queue with this name already exists.");
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<AnnotationQueueRecord>> GetQueue(
      const std::string& project_id, const std::string& queue_id) override {
    return One(std::string("SELECT ") + kQueueColumns +
                   " FROM annotation_queues WHERE id = $1 AND project_id = $2",
               Params().Add(queue_id).Add(project_id), ReadQueue);
  }

  absl::StatusOr<PageResult<AnnotationQueueRecord>> ListQueues(const std::string& project_id,
                                                               const PageRequest& page) override {
    return Page("SELECT COUNT(*) FROM annotation_queues WHERE project_id = $1",
                std::string("SELECT ") + kQueueColumns +
                    " FROM annotation_queues WHERE project_id = $1 ORDER BY created_at DESC, id "
                    "DESC LIMIT $2 OFFSET $3",
                Params().Add(project_id), page, ReadQueue);
  }

  absl::Status CreateItem(const AnnotationQueueItemRecord& i) override {
    return UniqueAsInternal(Exec(std::string("INSERT INTO annotation_queue_items(") + kItemColumns +
                                     ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                                 Params()
                                     .Add(i.id)
                                     .Add(i.project_id)
                                     .Add(i.queue_id)
                                     .Add(i.object_id)
                                     .Add(i.object_type)
                                     .Add(i.status)
                                     .Add(i.completed_at_ms)
                                     .Add(i.created_at_ms)
                                     .Add(i.updated_at_ms)));
  }

  absl::StatusOr<std::optional<AnnotationQueueItemRecord>> GetItem(
      const std::string& project_id, const std::string& queue_id,
      const std::string& item_id) override {
    return One(std::string("SELECT ") + kItemColumns +
                   " FROM annotation_queue_items WHERE id = $1 AND project_id = $2 AND "
                   "queue_id = $3",
               Params().Add(item_id).Add(project_id).Add(queue_id), ReadItem);
  }

  absl::StatusOr<PageResult<AnnotationQueueItemRecord>> ListItems(
      const std::string& project_id, const std::string& queue_id,
      const std::optional<std::string>& status, const PageRequest& page) override {
    const std::string where =
        " FROM annotation_queue_items WHERE project_id = $1 AND queue_id = $2 AND "
        "($3::text IS NULL OR status = $3)";
    return Page("SELECT COUNT(*)" + where,
                std::string("SELECT ") + kItemColumns + where +
                    " ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5",
                Params().Add(project_id).Add(queue_id).Add(status), page, ReadItem);
  }

  absl::Status UpdateItem(const AnnotationQueueItemRecord& i) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("UPDATE annotation_queue_items SET status = $1, "
                                         "completed_at = $2, updated_at = $3 WHERE id = $4 AND "
                                         "project_id = $5 AND queue_id = $6",
                                         Params()
                                             .Add(i.status)
                                             .Add(i.completed_at_ms)
                                             .Add(i.updated_at_ms)
                                             .Add(i.id)
                                             .Add(i.project_id)
                                             .Add(i.queue_id)));
    if (n == 0) return absl::NotFoundError("Annotation queue item not found");
    return absl::OkStatus();
  }

  absl::StatusOr<bool> DeleteItem(const std::string& project_id, const std::string& queue_id,
                                  const std::string& item_id) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("DELETE FROM annotation_queue_items WHERE id = $1 AND "
                                         "project_id = $2 AND queue_id = $3",
                                         Params().Add(item_id).Add(project_id).Add(queue_id)));
    return n > 0;
  }

  absl::Status Assign(const std::string& project_id, const std::string& queue_id,
                      const std::string& user_id) override {
    return Exec(
        "INSERT INTO annotation_queue_assignments(project_id, queue_id, user_id, created_at) "
        "VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
        Params().Add(project_id).Add(queue_id).Add(user_id).Add(NowMillis()));
  }

  absl::Status Unassign(const std::string& project_id, const std::string& queue_id,
                        const std::string& user_id) override {
    return Exec(
        "DELETE FROM annotation_queue_assignments WHERE project_id = $1 AND queue_id = $2 AND "
        "user_id = $3",
        Params().Add(project_id).Add(queue_id).Add(user_id));
  }

  absl::StatusOr<std::vector<std::string>> AssignedUsers(const std::string& project_id,
                                                         const std::string& queue_id) override {
    return All(
        "SELECT user_id FROM annotation_queue_assignments WHERE project_id = $1 AND queue_id = "
        "$2 ORDER BY created_at, user_id",
        Params().Add(project_id).Add(queue_id), [](const pg::Row& r) { return r.Text(0); });
  }
};

// ---- LLM connections.

constexpr const char* kConnectionColumns =
    "id, project_id, provider, adapter, secret_key, display_secret_key, base_url, "
    "custom_models, with_default_models, extra_headers, extra_header_keys, config, created_at, "
    "updated_at";

LlmConnectionRecord ReadConnection(const pg::Row& r) {
  LlmConnectionRecord c;
  c.id = r.Text(0);
  c.project_id = r.Text(1);
  c.provider = r.Text(2);
  c.adapter = r.Text(3);
  c.encrypted_secret_key = r.Text(4);
  c.display_secret_key = r.Text(5);
  c.base_url = r.OptText(6);
  c.custom_models = sqlite::StringsFromJson(r.Text(7));
  c.with_default_models = Bool(r, 8);
  c.encrypted_extra_headers = r.OptText(9);
  c.extra_header_keys = sqlite::StringsFromJson(r.Text(10));
  c.config_json = r.OptText(11);
  c.created_at_ms = r.Int(12);
  c.updated_at_ms = r.Int(13);
  return c;
}

class PgLlmConnectionStore final : public LlmConnectionStore, PgStore {
 public:
  explicit PgLlmConnectionStore(std::shared_ptr<pg::Pool> pool) : PgStore(std::move(pool)) {}

  absl::StatusOr<UpsertedLlmConnection> Upsert(const LlmConnectionRecord& c) override {
    UpsertedLlmConnection out;
    if (absl::Status done = Transaction([&](Conn& conn) -> absl::Status {
          // Upserts of one provider, from any process, run one after the
          // other: the second finds and replaces the first's connection.
          RETURN_IF_ERROR(Run(conn,
                              "SELECT pg_advisory_xact_lock(hashtext('llm_connections:' "
                              "|| $1::text), hashtext($2))",
                              Params().Add(c.project_id).Add(c.provider))
                              .status());
          out.connection = c;
          out.created = true;
          ASSIGN_OR_RETURN(Result existing, Run(conn,
                                                "SELECT id, created_at FROM llm_connections WHERE "
                                                "project_id = $1 AND provider = $2",
                                                Params().Add(c.project_id).Add(c.provider)));
          if (existing.rows() > 0) {
            out.created = false;
            out.connection.id = existing.row(0).Text(0);
            out.connection.created_at_ms = existing.row(0).Int(1);
          }
          const LlmConnectionRecord& r = out.connection;
          // What SQLite's INSERT OR REPLACE does: the rows the new one
          // collides with go, and it is inserted anew (at the end of the
          // insertion order).
          RETURN_IF_ERROR(Run(conn,
                              "DELETE FROM llm_connections WHERE id = $1 OR (project_id "
                              "= $2 AND provider = $3)",
                              Params().Add(r.id).Add(r.project_id).Add(r.provider))
                              .status());
          return Run(conn,
                     std::string("INSERT INTO llm_connections(") + kConnectionColumns +
                         ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
                     Params()
                         .Add(r.id)
                         .Add(r.project_id)
                         .Add(r.provider)
                         .Add(r.adapter)
                         .Add(r.encrypted_secret_key)
                         .Add(r.display_secret_key)
                         .Add(r.base_url)
                         .Add(sqlite::StringsToJson(r.custom_models))
                         .Add(BoolText(r.with_default_models))
                         .Add(r.encrypted_extra_headers)
                         .Add(sqlite::StringsToJson(r.extra_header_keys))
                         .Add(r.config_json)
                         .Add(r.created_at_ms)
                         .Add(r.updated_at_ms))
              .status();
        });
        !done.ok())
      return UniqueAsInternal(done);
    return out;
  }

  absl::StatusOr<PageResult<LlmConnectionRecord>> List(const std::string& project_id,
                                                       const PageRequest& page) override {
    return Page("SELECT COUNT(*) FROM llm_connections WHERE project_id = $1",
                std::string("SELECT ") + kConnectionColumns +
                    " FROM llm_connections WHERE project_id = $1 ORDER BY created_at DESC, seq "
                    "DESC LIMIT $2 OFFSET $3",
                Params().Add(project_id), page, ReadConnection);
  }

  absl::StatusOr<std::optional<LlmConnectionRecord>> Get(const std::string& project_id,
                                                         const std::string& id) override {
    return One(std::string("SELECT ") + kConnectionColumns +
                   " FROM llm_connections WHERE id = $1 AND project_id = $2",
               Params().Add(id).Add(project_id), ReadConnection);
  }

  absl::StatusOr<bool> Delete(const std::string& project_id, const std::string& id) override {
    ASSIGN_OR_RETURN(int64_t n,
                     Affected("DELETE FROM llm_connections WHERE id = $1 AND project_id = $2",
                              Params().Add(id).Add(project_id)));
    return n > 0;
  }
};

// ---- Media.

constexpr const char* kMediaColumns =
    "id, project_id, sha256_hash, content_type, content_length, blob_key, created_at, "
    "updated_at, uploaded_at, reported_uploaded_at, upload_http_status, upload_http_error, "
    "upload_time_ms";

MediaRecord ReadMedia(const pg::Row& r) {
  MediaRecord m;
  m.id = r.Text(0);
  m.project_id = r.Text(1);
  m.sha256_hash = r.Text(2);
  m.content_type = r.Text(3);
  m.content_length = r.Int(4);
  m.blob_key = r.Text(5);
  m.created_at_ms = r.Int(6);
  m.updated_at_ms = r.Int(7);
  m.uploaded_at_ms = r.OptInt(8);
  m.reported_uploaded_at_ms = r.OptInt(9);
  m.upload_http_status = r.OptInt(10);
  m.upload_http_error = r.OptText(11);
  m.upload_time_ms = r.OptInt(12);
  return m;
}

class PgMediaStore final : public MediaStore, PgStore {
 public:
  explicit PgMediaStore(std::shared_ptr<pg::Pool> pool) : PgStore(std::move(pool)) {}

  absl::StatusOr<MediaRecord> CreateOrGet(const MediaRecord& m) override {
    // Two inserts of one hash race on the primary key and the hash index
    // (the id derives from the hash).
    absl::StatusOr<MediaRecord> got = pg::RetryUniqueRace([&] { return TryCreateOrGet(m); });
    if (!got.ok()) return UniqueAsInternal(got.status());
    return got;
  }

  // One attempt; a unique violation comes back as kAlreadyExists.
  absl::StatusOr<MediaRecord> TryCreateOrGet(const MediaRecord& m) {
    std::optional<MediaRecord> out;
    if (absl::Status done = Transaction([&](Conn& c) -> absl::Status {
          // The conflict target is the hash: the id is derived from it, so
          // one hash is one row whichever key a racing request arrives with.
          // A racing insert of the same hash is waited for, then updated.
          RETURN_IF_ERROR(Run(c, R"sql(
INSERT INTO media(id, project_id, sha256_hash, content_type, content_length, blob_key,
                  created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT(project_id, sha256_hash) DO UPDATE SET
  content_type = excluded.content_type, content_length = excluded.content_length,
  updated_at = excluded.updated_at
WHERE media.uploaded_at IS NULL)sql",
                              Params()
                                  .Add(m.id)
                                  .Add(m.project_id)
                                  .Add(m.sha256_hash)
                                  .Add(m.content_type)
                                  .Add(m.content_length)
                                  .Add(m.blob_key)
                                  .Add(m.created_at_ms))
                              .status());
          ASSIGN_OR_RETURN(Result r, Run(c,
                                         std::string("SELECT ") + kMediaColumns +
                                             " FROM media WHERE project_id = $1 AND "
                                             "sha256_hash = $2",
                                         Params().Add(m.project_id).Add(m.sha256_hash)));
          if (r.rows() == 0) return absl::InternalError("media row vanished after upsert");
          out = ReadMedia(r.row(0));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return *std::move(out);
  }

  absl::StatusOr<std::optional<MediaRecord>> Get(const std::string& project_id,
                                                 const std::string& media_id) override {
    return One(
        std::string("SELECT ") + kMediaColumns + " FROM media WHERE project_id = $1 AND id = $2",
        Params().Add(project_id).Add(media_id), ReadMedia);
  }

  absl::Status MarkUploaded(const std::string& project_id, const std::string& media_id,
                            const std::string& content_type, int64_t content_length,
                            int64_t uploaded_at_ms) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("UPDATE media SET content_type = $3, content_length = "
                                         "$4, uploaded_at = $5, updated_at = $5 WHERE "
                                         "project_id = $1 AND id = $2",
                                         Params()
                                             .Add(project_id)
                                             .Add(media_id)
                                             .Add(content_type)
                                             .Add(content_length)
                                             .Add(uploaded_at_ms)));
    if (n == 0) return absl::NotFoundError("Media not found");
    return absl::OkStatus();
  }

  absl::Status RecordUploadReport(const std::string& project_id, const std::string& media_id,
                                  const MediaUploadReport& r) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("UPDATE media SET reported_uploaded_at = $3, "
                                         "upload_http_status = $4, upload_http_error = $5, "
                                         "upload_time_ms = $6 WHERE project_id = $1 AND id = $2",
                                         Params()
                                             .Add(project_id)
                                             .Add(media_id)
                                             .Add(r.uploaded_at_ms)
                                             .Add(r.http_status)
                                             .Add(r.http_error)
                                             .Add(r.time_ms)));
    if (n == 0) return absl::NotFoundError("Media not found");
    return absl::OkStatus();
  }

  absl::Status Link(const MediaLink& l) override {
    const int64_t now = NowMillis();
    if (l.dataset_item_id) {
      return Exec(
          "INSERT INTO dataset_item_media(project_id, media_id, dataset_id, dataset_item_id, "
          "field, created_at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
          Params()
              .Add(l.project_id)
              .Add(l.media_id)
              .Add(l.dataset_id.value_or(""))
              .Add(*l.dataset_item_id)
              .Add(l.field)
              .Add(now));
    }
    if (l.observation_id) {
      return Exec(
          "INSERT INTO observation_media(project_id, media_id, trace_id, observation_id, field, "
          "created_at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
          Params()
              .Add(l.project_id)
              .Add(l.media_id)
              .Add(l.trace_id.value_or(""))
              .Add(*l.observation_id)
              .Add(l.field)
              .Add(now));
    }
    if (l.trace_id) {
      return Exec(
          "INSERT INTO trace_media(project_id, media_id, trace_id, field, created_at) VALUES "
          "($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING",
          Params().Add(l.project_id).Add(l.media_id).Add(*l.trace_id).Add(l.field).Add(now));
    }
    return absl::InvalidArgumentError("a media link needs a trace or a dataset item");
  }

  absl::StatusOr<std::vector<MediaLink>> ListLinks(const std::string& project_id,
                                                   const std::string& media_id) override {
    return All(R"sql(
SELECT kind, a, b, field FROM (
  SELECT 0 AS kind, trace_id AS a, NULL::text AS b, field, created_at, seq FROM trace_media
    WHERE project_id = $1 AND media_id = $2
  UNION ALL
  SELECT 1, trace_id, observation_id, field, created_at, seq FROM observation_media
    WHERE project_id = $1 AND media_id = $2
  UNION ALL
  SELECT 2, dataset_id, dataset_item_id, field, created_at, seq FROM dataset_item_media
    WHERE project_id = $1 AND media_id = $2) links
ORDER BY created_at, kind, seq)sql",
               Params().Add(project_id).Add(media_id), [&](const pg::Row& r) {
                 MediaLink l;
                 l.project_id = project_id;
                 l.media_id = media_id;
                 l.field = r.Text(3);
                 switch (r.Int(0)) {
                   case 0:
                     l.trace_id = r.Text(1);
                     break;
                   case 1:
                     l.trace_id = r.Text(1);
                     l.observation_id = r.Text(2);
                     break;
                   default:
                     l.dataset_id = r.Text(1);
                     l.dataset_item_id = r.Text(2);
                 }
                 return l;
               });
  }
};

template <typename Store, typename Interface>
absl::StatusOr<std::unique_ptr<Interface>> Open(std::shared_ptr<pg::Pool> pool,
                                                std::string_view component,
                                                const std::vector<pg::Migration>& migrations) {
  if (!pool) return absl::InvalidArgumentError("PostgreSQL store without a connection pool");
  RETURN_IF_ERROR(pg::ApplyMigrations(*pool, component, migrations));
  return std::unique_ptr<Interface>(new Store(std::move(pool)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ScoreConfigStore>> OpenPostgresScoreConfigStore(
    std::shared_ptr<pg::Pool> pool) {
  return Open<PgScoreConfigStore, ScoreConfigStore>(std::move(pool), "score_configs",
                                                    ScoreConfigMigrations());
}

absl::StatusOr<std::unique_ptr<ModelStore>> OpenPostgresModelStore(std::shared_ptr<pg::Pool> pool) {
  return Open<PgModelStore, ModelStore>(std::move(pool), "models", ModelMigrations());
}

absl::StatusOr<std::unique_ptr<CommentStore>> OpenPostgresCommentStore(
    std::shared_ptr<pg::Pool> pool) {
  return Open<PgCommentStore, CommentStore>(std::move(pool), "comments", CommentMigrations());
}

absl::StatusOr<std::unique_ptr<AnnotationQueueStore>> OpenPostgresAnnotationQueueStore(
    std::shared_ptr<pg::Pool> pool) {
  return Open<PgAnnotationQueueStore, AnnotationQueueStore>(std::move(pool), "annotation_queues",
                                                            AnnotationQueueMigrations());
}

absl::StatusOr<std::unique_ptr<LlmConnectionStore>> OpenPostgresLlmConnectionStore(
    std::shared_ptr<pg::Pool> pool) {
  return Open<PgLlmConnectionStore, LlmConnectionStore>(std::move(pool), "llm_connections",
                                                        LlmConnectionMigrations());
}

absl::StatusOr<std::unique_ptr<MediaStore>> OpenPostgresMediaStore(std::shared_ptr<pg::Pool> pool) {
  return Open<PgMediaStore, MediaStore>(std::move(pool), "media", MediaMigrations());
}

}  // namespace loupe
