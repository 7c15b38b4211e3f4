#include "storage/postgres/pg_prompt_store.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "common/hash.h"
#include "common/json_parse.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/prompt_store_support.h"

namespace loupe {
namespace {

namespace json = boost::json;
using pg::Conn;
using pg::Params;
using pg::Result;

// The tables of the SQLite PromptStore: content, config, labels and tags are
// JSON text (labels in the order they were given), times epoch
// milliseconds. prompt_changes counts the changes of each project; the
// in-memory cache of Get() is valid while the count stays the same.
const std::vector<pg::Migration>& Migrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE prompts(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  prompt TEXT NOT NULL,
  config TEXT NOT NULL,
  labels TEXT NOT NULL,
  tags TEXT NOT NULL,
  commit_message TEXT,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE(project_id, name, version));
CREATE TABLE prompt_dependencies(
  project_id TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  child_name TEXT NOT NULL,
  child_version INTEGER,
  child_label TEXT);
CREATE INDEX prompt_dependencies_child ON prompt_dependencies(project_id, child_name);
CREATE INDEX prompt_dependencies_parent ON prompt_dependencies(parent_id);
CREATE TABLE prompt_changes(
  project_id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL);
)sql"},
  };
  return kMigrations;
}

constexpr const char* kColumns =
    "id, project_id, name, version, type, prompt, config, labels, tags, commit_message, "
    "created_by, created_at, updated_at";

PromptRecord ReadRow(const pg::Row& r) {
  PromptRecord p;
  p.id = r.Text(0);
  p.project_id = r.Text(1);
  p.name = r.Text(2);
  p.version = static_cast<int>(r.Int(3));
  p.type = r.Text(4);
  p.prompt = ParseStoredPromptJson(r.Text(5));
  p.config = ParseStoredPromptJson(r.Text(6));
  p.labels = ParsePromptStringArray(r.Text(7));
  p.tags = ParsePromptStringArray(r.Text(8));
  p.commit_message = r.OptText(9);
  p.created_by = r.Text(10);
  p.created_at_ms = r.Int(11);
  p.updated_at_ms = r.Int(12);
  return p;
}

// Whether the JSON array of strings in `column` holds the string whose
// serialized form is bound at `placeholder` (see JsonString). Elements are
// compared as the JSON text they were written as: the `json` type keeps it,
// and unlike `jsonb` it accepts every string (`\u0000` included).
std::string Contains(const char* column, const std::string& placeholder) {
  return std::string("EXISTS (SELECT 1 FROM json_array_elements(") + column +
         "::json) e WHERE e::text = " + placeholder + ")";
}

// `s` serialized as the array elements of the labels and tags columns are.
std::string JsonString(const std::string& s) { return json::serialize(json::value(s)); }

// A list bound as one JSON array parameter, matched with
// `IN (SELECT json_array_elements_text($n::json))`.
std::string JsonList(const std::vector<std::string>& values) {
  return SerializePromptStringArray(values);
}

// Builds a parameter list and hands out the placeholders of its values.
class Args {
 public:
  template <typename T>
  std::string Add(T&& v) {
    params_.Add(std::forward<T>(v));
    return "$" + std::to_string(++n_);
  }
  const Params& params() const { return params_; }

 private:
  Params params_;
  int n_ = 0;
};

class PgPromptStore final : public PromptStore {
 public:
  explicit PgPromptStore(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  absl::StatusOr<PromptRecord> CreateVersion(const std::string& project_id,
                                             const NewPromptVersion& v) override {
    PromptRecord p;
    if (absl::Status done = Write(
            project_id,
            [&](Conn& c) -> absl::Status {
              ASSIGN_OR_RETURN(std::vector<PromptRecord> versions,
                               AllVersions(c, project_id, v.name));
              const PromptRecord* latest = versions.empty() ? nullptr : &versions.back();
              const int64_t now = NowMillis();
              ASSIGN_OR_RETURN(p, NextPromptVersion(project_id, v, latest, now));

              std::string content = json::serialize(p.prompt);
              std::vector<PromptReference> refs = ParsePromptReferences(content);
              if (!refs.empty()) {
                PromptResolutionGraph graph;
                RETURN_IF_ERROR(ResolvePromptContent(p, content, absl::StatusCode::kInvalidArgument,
                                                     FinderOn(c), &graph)
                                    .status());
              }

              RETURN_IF_ERROR(c.Exec(std::string("INSERT INTO prompts(") + kColumns +
                                         ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                                     Params()
                                         .Add(p.id)
                                         .Add(p.project_id)
                                         .Add(p.name)
                                         .Add(static_cast<int64_t>(p.version))
                                         .Add(p.type)
                                         .Add(content)
                                         .Add(json::serialize(p.config))
                                         .Add(SerializePromptStringArray(p.labels))
                                         .Add(SerializePromptStringArray(p.tags))
                                         .Add(p.commit_message)
                                         .Add(p.created_by)
                                         .Add(now)
                                         .Add(now))
                                  .status());

              for (const PromptReference& ref : refs) {
                RETURN_IF_ERROR(
                    c.Exec(
                         "INSERT INTO prompt_dependencies(project_id, parent_id, child_name, "
                         "child_version, child_label) VALUES ($1,$2,$3,$4,$5)",
                         Params()
                             .Add(project_id)
                             .Add(p.id)
                             .Add(ref.name)
                             .Add(ref.version ? std::optional<int64_t>(*ref.version) : std::nullopt)
                             .Add(ref.version ? std::nullopt
                                              : std::optional<std::string>(ref.label)))
                        .status());
              }

              bool tags_changed =
                  latest && std::set<std::string>(p.tags.begin(), p.tags.end()) !=
                                std::set<std::string>(latest->tags.begin(), latest->tags.end());
              for (PromptRecord& other : versions) {
                bool changed = RemoveLabels(other, p.labels);
                if (tags_changed) {
                  other.tags = p.tags;
                  changed = true;
                }
                if (changed) RETURN_IF_ERROR(UpdateLabelsAndTags(c, other, now));
              }
              return absl::OkStatus();
            });
        !done.ok())
      return done;
    return p;
  }

  absl::StatusOr<std::shared_ptr<const ResolvedPrompt>> Get(const std::string& project_id,
                                                            const std::string& name,
                                                            const PromptSelector& selector,
                                                            bool resolve) override {
    RETURN_IF_ERROR(CheckOpen());
    const std::string key = PromptReadCacheKey(name, selector, resolve);
    std::shared_ptr<const ResolvedPrompt> result;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(int64_t seq, ChangeSeq(c, project_id));
          if (auto hit = CacheLookup(project_id, seq, key)) {
            result = *hit;
            return absl::OkStatus();
          }
          // One snapshot for the change counter and every row the resolution
          // reads, so the result is exactly the state that counter names.
          int64_t snapshot_seq = 0;
          absl::Status read = c.InTransaction([&]() -> absl::Status {
            RETURN_IF_ERROR(
                c.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").status());
            ASSIGN_OR_RETURN(snapshot_seq, ChangeSeq(c, project_id));
            ASSIGN_OR_RETURN(std::optional<PromptRecord> found,
                             Find(c, project_id, name, selector));
            result.reset();
            if (!found) return absl::OkStatus();
            auto resolved = std::make_shared<ResolvedPrompt>();
            resolved->record = std::move(*found);
            if (resolve) {
              PromptRecord& root = resolved->record;
              std::string content = json::serialize(root.prompt);
              if (!ParsePromptReferences(content).empty()) {
                PromptResolutionGraph graph;
                ASSIGN_OR_RETURN(
                    std::string resolved_text,
                    ResolvePromptContent(root, content, absl::StatusCode::kFailedPrecondition,
                                         FinderOn(c), &graph));
                root.prompt = ParseStoredPromptJson(resolved_text);
                if (!graph.dependencies.empty()) resolved->graph = std::move(graph);
              }
            }
            result = std::move(resolved);
            return absl::OkStatus();
          });
          if (!read.ok()) return read;
          CacheStore(project_id, snapshot_seq, key, result);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return result;
  }

  absl::StatusOr<std::optional<PromptRecord>> GetById(const std::string& project_id,
                                                      const std::string& id) override {
    RETURN_IF_ERROR(CheckOpen());
    std::optional<PromptRecord> out;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, c.Exec(std::string("SELECT ") + kColumns +
                                                " FROM prompts WHERE project_id = $1 AND id = $2",
                                            Params().Add(project_id).Add(id)));
          if (r.rows() > 0) out = ReadRow(r.row(0));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<PromptMetaPage> List(const std::string& project_id,
                                      const PromptListQuery& q) override {
    RETURN_IF_ERROR(CheckOpen());
    // The filters apply to versions; a name is listed when any version
    // matches and is described by its matching versions only.
    Args args;
    std::string where = " WHERE project_id = " + args.Add(project_id);
    if (q.name) where += " AND name = " + args.Add(*q.name);
    if (q.version) where += " AND version = " + args.Add(static_cast<int64_t>(*q.version));
    if (q.label) where += " AND " + Contains("labels", args.Add(JsonString(*q.label)));
    if (q.tag) where += " AND " + Contains("tags", args.Add(JsonString(*q.tag)));
    if (q.from_updated_ms) where += " AND updated_at >= " + args.Add(*q.from_updated_ms);
    if (q.to_updated_ms) where += " AND updated_at < " + args.Add(*q.to_updated_ms);

    PromptMetaPage page;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          return c.InTransaction([&]() -> absl::Status {
            RETURN_IF_ERROR(
                c.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").status());
            ASSIGN_OR_RETURN(
                Result count,
                c.Exec("SELECT COUNT(DISTINCT name) FROM prompts" + where, args.params()));
            page.total_items = count.rows() ? count.row(0).Int(0) : 0;

            Args names_args = args;
            // SQLite's LIMIT takes a negative limit as none and a negative
            // offset as 0.
            std::string limit =
                names_args.Add(q.limit < 0 ? std::nullopt : std::optional<int64_t>(q.limit));
            std::string offset =
                names_args.Add(std::max<int64_t>(0, static_cast<int64_t>(q.page - 1) * q.limit));
            ASSIGN_OR_RETURN(Result names,
                             c.Exec("SELECT name FROM prompts" + where +
                                        " GROUP BY name ORDER BY name COLLATE \"C\" LIMIT " +
                                        limit + " OFFSET " + offset,
                                    names_args.params()));
            std::vector<std::string> page_names;
            std::unordered_map<std::string, size_t> index;
            for (int i = 0; i < names.rows(); ++i) {
              index[names.row(i).Text(0)] = page_names.size();
              page_names.push_back(names.row(i).Text(0));
            }
            if (page_names.empty()) return absl::OkStatus();

            Args rows_args = args;
            std::string in = rows_args.Add(JsonList(page_names));
            ASSIGN_OR_RETURN(Result rows,
                             c.Exec(std::string("SELECT ") + kColumns + " FROM prompts" + where +
                                        " AND name IN (SELECT "
                                        "json_array_elements_text(" +
                                        in + "::json)) ORDER BY version",
                                    rows_args.params()));
            std::vector<PromptMetaRecord> metas(page_names.size());
            std::vector<std::set<std::string>> labels(page_names.size());
            for (size_t i = 0; i < page_names.size(); ++i) metas[i].name = page_names[i];
            for (int i = 0; i < rows.rows(); ++i) {
              PromptRecord p = ReadRow(rows.row(i));
              auto it = index.find(p.name);
              if (it == index.end()) continue;
              PromptMetaRecord& meta = metas[it->second];
              meta.type = p.type;
              meta.versions.push_back(p.version);
              labels[it->second].insert(p.labels.begin(), p.labels.end());
              meta.tags = p.tags;
              meta.last_updated_at_ms = std::max(meta.last_updated_at_ms, p.updated_at_ms);
              meta.last_config = p.config;
            }
            for (size_t i = 0; i < metas.size(); ++i) {
              metas[i].labels.assign(labels[i].begin(), labels[i].end());
              page.items.push_back(std::move(metas[i]));
            }
            return absl::OkStatus();
          });
        });
        !done.ok())
      return done;
    return page;
  }

  absl::StatusOr<PromptRecord> AddLabels(const std::string& project_id, const std::string& name,
                                         int version,
                                         const std::vector<std::string>& labels) override {
    if (std::find(labels.begin(), labels.end(), kLatestPromptLabel) != labels.end()) {
      return absl::InvalidArgumentError(
          "The 'latest' label is reserved: it is always on the newest version and cannot be set");
    }
    PromptRecord out;
    if (absl::Status done =
            Write(project_id,
                  [&](Conn& c) -> absl::Status {
                    ASSIGN_OR_RETURN(std::vector<PromptRecord> versions,
                                     AllVersions(c, project_id, name));
                    auto target =
                        std::find_if(versions.begin(), versions.end(),
                                     [&](const PromptRecord& p) { return p.version == version; });
                    if (target == versions.end()) {
                      return absl::NotFoundError("Prompt not found: '" + name + "' with version " +
                                                 std::to_string(version));
                    }
                    int64_t now = NowMillis();
                    std::vector<std::string> merged;
                    AppendDistinct(merged, labels);
                    AppendDistinct(merged, target->labels);
                    for (PromptRecord& other : versions) {
                      if (other.version == version) continue;
                      if (RemoveLabels(other, labels))
                        RETURN_IF_ERROR(UpdateLabelsAndTags(c, other, now));
                    }
                    target->labels = std::move(merged);
                    target->updated_at_ms = now;
                    RETURN_IF_ERROR(UpdateLabelsAndTags(c, *target, now));
                    out = *target;
                    return absl::OkStatus();
                  });
        !done.ok())
      return done;
    return out;
  }

  absl::Status Delete(const std::string& project_id, const std::string& name,
                      std::optional<int> version, std::optional<std::string> label) override {
    return Write(project_id, [&](Conn& c) -> absl::Status {
      ASSIGN_OR_RETURN(std::vector<PromptRecord> versions, AllVersions(c, project_id, name));
      std::vector<PromptRecord> doomed, remaining;
      for (PromptRecord& p : versions) {
        bool match = version ? p.version == *version : label ? HasLabel(p, *label) : true;
        (match ? doomed : remaining).push_back(std::move(p));
      }
      if (doomed.empty()) return absl::NotFoundError("Prompt not found");

      std::set<int> doomed_versions;
      std::unordered_set<std::string> doomed_ids;
      for (const PromptRecord& p : doomed) {
        doomed_versions.insert(p.version);
        doomed_ids.insert(p.id);
      }
      ASSIGN_OR_RETURN(Result deps,
                       c.Exec("SELECT d.parent_id, d.child_version, d.child_label, p.name, "
                              "p.version FROM prompt_dependencies d JOIN prompts p ON p.id = "
                              "d.parent_id WHERE d.project_id = $1 AND d.child_name = $2 ORDER BY "
                              "p.name COLLATE \"C\", p.version",
                              Params().Add(project_id).Add(name)));
      std::string blocking;
      for (int i = 0; i < deps.rows(); ++i) {
        const pg::Row row = deps.row(i);
        if (doomed_ids.count(row.Text(0))) continue;
        std::optional<int64_t> child_version = row.OptInt(1);
        std::optional<std::string> child_label = row.OptText(2);
        bool breaks = false;
        if (child_version) {
          breaks = doomed_versions.count(static_cast<int>(*child_version)) > 0;
        } else if (child_label) {
          breaks = std::none_of(remaining.begin(), remaining.end(),
                                [&](const PromptRecord& p) { return HasLabel(p, *child_label); });
        }
        if (!breaks) continue;
        blocking += row.Text(3) + " v" + std::to_string(row.Int(4)) + " depends on " + name + " " +
                    (child_version ? "v" + std::to_string(*child_version) : *child_label) + "\n";
      }
      if (!blocking.empty()) {
        return absl::FailedPreconditionError(
            "Other prompts are depending on prompt versions you are trying to delete:\n\n" +
            blocking + "\nPlease delete the dependent prompts first.");
      }

      bool latest_deleted = std::any_of(doomed.begin(), doomed.end(), [](const PromptRecord& p) {
        return HasLabel(p, kLatestPromptLabel);
      });
      if (latest_deleted && !remaining.empty()) {
        PromptRecord& highest = remaining.back();  // versions are ordered ascending
        AppendDistinct(highest.labels, {kLatestPromptLabel});
        RETURN_IF_ERROR(UpdateLabelsAndTags(c, highest, NowMillis()));
      }
      std::vector<std::string> ids;
      for (const PromptRecord& p : doomed) ids.push_back(p.id);
      const std::string list = JsonList(ids);
      RETURN_IF_ERROR(c.Exec("DELETE FROM prompts WHERE id IN (SELECT "
                             "json_array_elements_text($1::json))",
                             Params().Add(list))
                          .status());
      return c
          .Exec(
              "DELETE FROM prompt_dependencies WHERE parent_id IN (SELECT "
              "json_array_elements_text($1::json))",
              Params().Add(list))
          .status();
    });
  }

  void Close() override {
    closed_ = true;
    std::unique_lock cache_lock(cache_mu_);
    cache_.clear();
  }

 private:
  struct ProjectCache {
    int64_t seq = 0;  // the project's change counter the entries belong to
    std::unordered_map<std::string, std::shared_ptr<const ResolvedPrompt>> reads;
  };

  absl::Status CheckOpen() const {
    return closed_ ? absl::UnavailableError("prompt store is closed") : absl::OkStatus();
  }

  // Runs `body` in a transaction that holds the project's write lock (so
  // writes of a project, from any process, run one after the other) and
  // counts the change; drops the project's cached reads once it committed.
  absl::Status Write(const std::string& project_id,
                     const std::function<absl::Status(Conn&)>& body) {
    RETURN_IF_ERROR(CheckOpen());
    absl::Status s = pool_->With([&](Conn& c) {
      return c.InTransaction([&]() -> absl::Status {
        RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                               Params().Add("loupe.prompts:" + project_id))
                            .status());
        RETURN_IF_ERROR(body(c));
        return c
            .Exec(
                "INSERT INTO prompt_changes(project_id, seq) VALUES ($1, 1) ON "
                "CONFLICT(project_id) DO UPDATE SET seq = prompt_changes.seq + 1",
                Params().Add(project_id))
            .status();
      });
    });
    if (s.ok()) InvalidateProject(project_id);
    return s;
  }

  static absl::StatusOr<int64_t> ChangeSeq(Conn& c, const std::string& project_id) {
    ASSIGN_OR_RETURN(Result r, c.Exec("SELECT seq FROM prompt_changes WHERE project_id = $1",
                                      Params().Add(project_id)));
    return r.rows() ? r.row(0).Int(0) : 0;
  }

  // All versions of a name, ascending.
  static absl::StatusOr<std::vector<PromptRecord>> AllVersions(Conn& c,
                                                               const std::string& project_id,
                                                               const std::string& name) {
    ASSIGN_OR_RETURN(Result r, c.Exec(std::string("SELECT ") + kColumns +
                                          " FROM prompts WHERE project_id = $1 AND name = $2 "
                                          "ORDER BY version",
                                      Params().Add(project_id).Add(name)));
    std::vector<PromptRecord> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadRow(r.row(i)));
    return out;
  }

  // Find() on `c` as a resolution's finder.
  static PromptFinder FinderOn(Conn& c) {
    return [&c](const std::string& project_id, const std::string& name,
                const PromptSelector& selector) { return Find(c, project_id, name, selector); };
  }

  static absl::StatusOr<std::optional<PromptRecord>> Find(Conn& c, const std::string& project_id,
                                                          const std::string& name,
                                                          const PromptSelector& selector) {
    std::string sql = std::string("SELECT ") + kColumns +
                      " FROM prompts WHERE project_id = $1 AND name = $2 AND ";
    Params params;
    params.Add(project_id).Add(name);
    if (selector.version) {
      sql += "version = $3";
      params.Add(static_cast<int64_t>(*selector.version));
    } else {
      sql += Contains("labels", "$3") + " LIMIT 1";
      params.Add(JsonString(selector.label.value_or("")));
    }
    ASSIGN_OR_RETURN(Result r, c.Exec(sql, params));
    std::optional<PromptRecord> out;
    if (r.rows() > 0) out = ReadRow(r.row(0));
    return out;
  }

  static absl::Status UpdateLabelsAndTags(Conn& c, PromptRecord& p, int64_t now) {
    p.updated_at_ms = now;
    return c
        .Exec("UPDATE prompts SET labels = $1, tags = $2, updated_at = $3 WHERE id = $4",
              Params()
                  .Add(SerializePromptStringArray(p.labels))
                  .Add(SerializePromptStringArray(p.tags))
                  .Add(now)
                  .Add(p.id))
        .status();
  }

  std::optional<std::shared_ptr<const ResolvedPrompt>> CacheLookup(const std::string& project_id,
                                                                   int64_t seq,
                                                                   const std::string& key) {
    std::shared_lock lock(cache_mu_);
    auto project = cache_.find(project_id);
    if (project == cache_.end() || project->second.seq != seq) return std::nullopt;
    auto it = project->second.reads.find(key);
    if (it == project->second.reads.end()) return std::nullopt;
    return it->second;
  }

  // Keeps `value`, read at change counter `seq`, unless the cache already
  // holds reads of a later change.
  void CacheStore(const std::string& project_id, int64_t seq, const std::string& key,
                  std::shared_ptr<const ResolvedPrompt> value) {
    if (closed_) return;
    std::unique_lock lock(cache_mu_);
    ProjectCache& project = cache_[project_id];
    if (project.seq > seq) return;
    if (project.seq < seq || project.reads.size() >= kMaxCachedPromptReadsPerProject) {
      project.reads.clear();
      project.seq = seq;
    }
    project.reads[key] = std::move(value);
  }

  void InvalidateProject(const std::string& project_id) {
    std::unique_lock lock(cache_mu_);
    cache_.erase(project_id);
  }

  const std::shared_ptr<pg::Pool> pool_;
  std::atomic<bool> closed_{false};

  std::shared_mutex cache_mu_;
  // project id → its reads (nullptr caches "not found").
  std::unordered_map<std::string, ProjectCache> cache_;  // guarded by cache_mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<PromptStore>> OpenPostgresPromptStore(
    std::shared_ptr<pg::Pool> pool) {
  if (!pool) return absl::InvalidArgumentError("no PostgreSQL pool");
  RETURN_IF_ERROR(pg::ApplyMigrations(*pool, "prompts", Migrations()));
  return std::unique_ptr<PromptStore>(new PgPromptStore(std::move(pool)));
}

}  // namespace loupe
