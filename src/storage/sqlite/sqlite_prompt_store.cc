#include "storage/sqlite/sqlite_prompt_store.h"

#include <algorithm>
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
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"

namespace loupe {
namespace {

namespace json = boost::json;
using sqlite::Db;
using sqlite::Stmt;

// Content, config, labels and tags are JSON text. Labels keep the order in
// which they were given (Langfuse returns them that way). Label uniqueness
// per name is kept by the store's transactions; prompt_dependencies mirrors
// the references in each version's content so that deletes can find the
// prompts that depend on a name without parsing every prompt.
const std::vector<sqlite::Migration>& PromptMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
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
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(project_id, name, version)
);
CREATE TABLE prompt_dependencies(
  project_id TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  child_name TEXT NOT NULL,
  child_version INTEGER,
  child_label TEXT
);
CREATE INDEX prompt_dependencies_child ON prompt_dependencies(project_id, child_name);
CREATE INDEX prompt_dependencies_parent ON prompt_dependencies(parent_id);
)sql"},
  };
  return kMigrations;
}

constexpr const char* kColumns =
    "id, project_id, name, version, type, prompt, config, labels, tags, commit_message, "
    "created_by, created_at, updated_at";

absl::Status RunAndReset(Stmt* st) {
  absl::Status s = st->Run();
  st->Reset();
  return s;
}

class SqlitePromptStore final : public PromptStore {
 public:
  explicit SqlitePromptStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::StatusOr<PromptRecord> CreateVersion(const std::string& project_id,
                                             const NewPromptVersion& v) override {
    std::lock_guard lock(db_mu_);
    if (!db_) return absl::UnavailableError("prompt store is closed");
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(std::vector<PromptRecord> versions, AllVersions(project_id, v.name));
    const PromptRecord* latest = versions.empty() ? nullptr : &versions.back();
    const int64_t now = NowMillis();
    ASSIGN_OR_RETURN(PromptRecord p, NextPromptVersion(project_id, v, latest, now));

    std::string content = json::serialize(p.prompt);
    std::vector<PromptReference> refs = ParsePromptReferences(content);
    if (!refs.empty()) {
      PromptResolutionGraph graph;
      RETURN_IF_ERROR(
          ResolvePromptContent(p, content, absl::StatusCode::kInvalidArgument, Finder(), &graph)
              .status());
    }

    ASSIGN_OR_RETURN(Stmt * ins, db_->Prepare(std::string("INSERT INTO prompts(") + kColumns +
                                              ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    ins->Bind(1, p.id).Bind(2, p.project_id).Bind(3, p.name).Bind(4, p.version).Bind(5, p.type);
    ins->Bind(6, content).Bind(7, json::serialize(p.config));
    ins->Bind(8, SerializePromptStringArray(p.labels)).Bind(9, SerializePromptStringArray(p.tags));
    ins->Bind(10, p.commit_message).Bind(11, p.created_by).Bind(12, now).Bind(13, now);
    RETURN_IF_ERROR(RunAndReset(ins));

    for (const PromptReference& ref : refs) {
      ASSIGN_OR_RETURN(Stmt * dep, db_->Prepare("INSERT INTO prompt_dependencies(project_id, "
                                                "parent_id, child_name, child_version, "
                                                "child_label) VALUES (?,?,?,?,?)"));
      dep->Bind(1, project_id).Bind(2, p.id).Bind(3, ref.name);
      if (ref.version) {
        dep->Bind(4, *ref.version).BindNull(5);
      } else {
        dep->BindNull(4).Bind(5, ref.label);
      }
      RETURN_IF_ERROR(RunAndReset(dep));
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
      if (changed) RETURN_IF_ERROR(UpdateLabelsAndTags(other, now));
    }
    RETURN_IF_ERROR(txn->Commit());
    InvalidateProject(project_id);
    return p;
  }

  absl::StatusOr<std::shared_ptr<const ResolvedPrompt>> Get(const std::string& project_id,
                                                            const std::string& name,
                                                            const PromptSelector& selector,
                                                            bool resolve) override {
    std::string key = PromptReadCacheKey(name, selector, resolve);
    if (auto hit = CacheLookup(project_id, key)) return *hit;

    // Reading and caching under db_mu_ orders this fill against every write
    // (which also holds it while it invalidates), so a stale read can never
    // be cached after the invalidation that should have dropped it.
    std::lock_guard lock(db_mu_);
    if (!db_) return absl::UnavailableError("prompt store is closed");
    if (auto hit = CacheLookup(project_id, key)) return *hit;
    ASSIGN_OR_RETURN(std::optional<PromptRecord> found, Find(project_id, name, selector));
    std::shared_ptr<const ResolvedPrompt> result;
    if (found) {
      auto resolved = std::make_shared<ResolvedPrompt>();
      resolved->record = std::move(*found);
      if (resolve) {
        PromptRecord& root = resolved->record;
        std::string content = json::serialize(root.prompt);
        if (!ParsePromptReferences(content).empty()) {
          PromptResolutionGraph graph;
          ASSIGN_OR_RETURN(
              std::string resolved_text,
              ResolvePromptContent(root, content, absl::StatusCode::kFailedPrecondition, Finder(),
                                   &graph));
          root.prompt = ParseStoredPromptJson(resolved_text);
          if (!graph.dependencies.empty()) resolved->graph = std::move(graph);
        }
      }
      result = std::move(resolved);
    }
    CacheStore(project_id, key, result);
    return result;
  }

  absl::StatusOr<std::optional<PromptRecord>> GetById(const std::string& project_id,
                                                      const std::string& id) override {
    std::lock_guard lock(db_mu_);
    if (!db_) return absl::UnavailableError("prompt store is closed");
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM prompts WHERE project_id = ? AND id = ?"));
    st->Bind(1, project_id).Bind(2, id);
    auto row = st->Step();
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    std::optional<PromptRecord> out;
    if (*row) out = ReadRow(*st);
    st->Reset();
    return out;
  }

  absl::StatusOr<PromptMetaPage> List(const std::string& project_id,
                                      const PromptListQuery& q) override {
    std::lock_guard lock(db_mu_);
    if (!db_) return absl::UnavailableError("prompt store is closed");
    // The filters apply to versions; a name is listed when any version
    // matches and is described by its matching versions only.
    std::string where = " WHERE project_id = ?1";
    if (q.name) where += " AND name = ?2";
    if (q.version) where += " AND version = ?3";
    if (q.label) where += " AND EXISTS (SELECT 1 FROM json_each(prompts.labels) WHERE value = ?4)";
    if (q.tag) where += " AND EXISTS (SELECT 1 FROM json_each(prompts.tags) WHERE value = ?5)";
    if (q.from_updated_ms) where += " AND updated_at >= ?6";
    if (q.to_updated_ms) where += " AND updated_at < ?7";
    auto bind = [&](Stmt* st) {
      st->Bind(1, project_id);
      if (q.name) st->Bind(2, *q.name);
      if (q.version) st->Bind(3, *q.version);
      if (q.label) st->Bind(4, *q.label);
      if (q.tag) st->Bind(5, *q.tag);
      if (q.from_updated_ms) st->Bind(6, *q.from_updated_ms);
      if (q.to_updated_ms) st->Bind(7, *q.to_updated_ms);
    };

    PromptMetaPage page;
    ASSIGN_OR_RETURN(Stmt * count,
                     db_->Prepare("SELECT COUNT(DISTINCT name) FROM prompts" + where));
    bind(count);
    ASSIGN_OR_RETURN(bool row, count->Step());
    page.total_items = row ? count->Int(0) : 0;
    count->Reset();

    ASSIGN_OR_RETURN(Stmt * names, db_->Prepare("SELECT DISTINCT name FROM prompts" + where +
                                                " ORDER BY name LIMIT ?8 OFFSET ?9"));
    bind(names);
    names->Bind(8, q.limit).Bind(9, static_cast<int64_t>(q.page - 1) * q.limit);
    std::vector<std::string> page_names;
    while (true) {
      ASSIGN_OR_RETURN(bool more, names->Step());
      if (!more) break;
      page_names.push_back(names->Text(0));
    }
    names->Reset();

    for (const std::string& name : page_names) {
      ASSIGN_OR_RETURN(Stmt * rows,
                       db_->Prepare(std::string("SELECT ") + kColumns + " FROM prompts" + where +
                                    " AND name = ?10 ORDER BY version"));
      bind(rows);
      rows->Bind(10, name);
      PromptMetaRecord meta;
      meta.name = name;
      std::set<std::string> labels;
      while (true) {
        ASSIGN_OR_RETURN(bool more, rows->Step());
        if (!more) break;
        PromptRecord p = ReadRow(*rows);
        meta.type = p.type;
        meta.versions.push_back(p.version);
        labels.insert(p.labels.begin(), p.labels.end());
        meta.tags = p.tags;
        meta.last_updated_at_ms = std::max(meta.last_updated_at_ms, p.updated_at_ms);
        meta.last_config = p.config;
      }
      rows->Reset();
      meta.labels.assign(labels.begin(), labels.end());
      page.items.push_back(std::move(meta));
    }
    return page;
  }

  absl::StatusOr<PromptRecord> AddLabels(const std::string& project_id, const std::string& name,
                                         int version,
                                         const std::vector<std::string>& labels) override {
    if (std::find(labels.begin(), labels.end(), kLatestPromptLabel) != labels.end()) {
      return absl::InvalidArgumentError(
          "The 'latest' label is reserved: it is always on the newest version and cannot be set");
    }
    std::lock_guard lock(db_mu_);
    if (!db_) return absl::UnavailableError("prompt store is closed");
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(std::vector<PromptRecord> versions, AllVersions(project_id, name));
    auto target = std::find_if(versions.begin(), versions.end(),
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
      if (RemoveLabels(other, labels)) RETURN_IF_ERROR(UpdateLabelsAndTags(other, now));
    }
    target->labels = std::move(merged);
    target->updated_at_ms = now;
    RETURN_IF_ERROR(UpdateLabelsAndTags(*target, now));
    RETURN_IF_ERROR(txn->Commit());
    InvalidateProject(project_id);
    return *target;
  }

  absl::Status Delete(const std::string& project_id, const std::string& name,
                      std::optional<int> version, std::optional<std::string> label) override {
    std::lock_guard lock(db_mu_);
    if (!db_) return absl::UnavailableError("prompt store is closed");
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(std::vector<PromptRecord> versions, AllVersions(project_id, name));
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
    ASSIGN_OR_RETURN(Stmt * deps,
                     db_->Prepare("SELECT d.parent_id, d.child_version, d.child_label, "
                                  "p.name, p.version FROM prompt_dependencies d JOIN prompts "
                                  "p ON p.id = d.parent_id WHERE d.project_id = ? AND "
                                  "d.child_name = ? ORDER BY p.name, p.version"));
    deps->Bind(1, project_id).Bind(2, name);
    std::string blocking;
    while (true) {
      ASSIGN_OR_RETURN(bool more, deps->Step());
      if (!more) break;
      if (doomed_ids.count(deps->Text(0))) continue;
      std::optional<int64_t> child_version = deps->OptInt(1);
      std::optional<std::string> child_label = deps->OptText(2);
      bool breaks = false;
      if (child_version) {
        breaks = doomed_versions.count(static_cast<int>(*child_version)) > 0;
      } else if (child_label) {
        breaks = std::none_of(remaining.begin(), remaining.end(),
                              [&](const PromptRecord& p) { return HasLabel(p, *child_label); });
      }
      if (!breaks) continue;
      blocking += deps->Text(3) + " v" + std::to_string(deps->Int(4)) + " depends on " + name +
                  " " + (child_version ? "v" + std::to_string(*child_version) : *child_label) +
                  "\n";
    }
    deps->Reset();
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
      RETURN_IF_ERROR(UpdateLabelsAndTags(highest, NowMillis()));
    }
    for (const PromptRecord& p : doomed) {
      ASSIGN_OR_RETURN(Stmt * del, db_->Prepare("DELETE FROM prompts WHERE id = ?"));
      del->Bind(1, p.id);
      RETURN_IF_ERROR(RunAndReset(del));
      ASSIGN_OR_RETURN(Stmt * del_deps,
                       db_->Prepare("DELETE FROM prompt_dependencies WHERE parent_id = ?"));
      del_deps->Bind(1, p.id);
      RETURN_IF_ERROR(RunAndReset(del_deps));
    }
    RETURN_IF_ERROR(txn->Commit());
    InvalidateProject(project_id);
    return absl::OkStatus();
  }

  void Close() override {
    std::lock_guard lock(db_mu_);
    db_.reset();
    std::unique_lock cache_lock(cache_mu_);
    cache_.clear();
  }

 private:
  using ProjectCache = std::unordered_map<std::string, std::shared_ptr<const ResolvedPrompt>>;

  static PromptRecord ReadRow(const Stmt& st) {
    PromptRecord p;
    p.id = st.Text(0);
    p.project_id = st.Text(1);
    p.name = st.Text(2);
    p.version = static_cast<int>(st.Int(3));
    p.type = st.Text(4);
    p.prompt = ParseStoredPromptJson(st.Text(5));
    p.config = ParseStoredPromptJson(st.Text(6));
    p.labels = ParsePromptStringArray(st.Text(7));
    p.tags = ParsePromptStringArray(st.Text(8));
    p.commit_message = st.OptText(9);
    p.created_by = st.Text(10);
    p.created_at_ms = st.Int(11);
    p.updated_at_ms = st.Int(12);
    return p;
  }

  // All versions of a name, ascending. Requires db_mu_.
  absl::StatusOr<std::vector<PromptRecord>> AllVersions(const std::string& project_id,
                                                        const std::string& name) {
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM prompts WHERE project_id = ? AND name = ? "
                                             "ORDER BY version"));
    st->Bind(1, project_id).Bind(2, name);
    std::vector<PromptRecord> out;
    while (true) {
      auto more = st->Step();
      if (!more.ok()) {
        st->Reset();
        return more.status();
      }
      if (!*more) break;
      out.push_back(ReadRow(*st));
    }
    st->Reset();
    return out;
  }

  // Find() as a resolution's finder. Requires db_mu_ while in use.
  PromptFinder Finder() {
    return [this](const std::string& project_id, const std::string& name,
                  const PromptSelector& selector) { return Find(project_id, name, selector); };
  }

  // Requires db_mu_.
  absl::StatusOr<std::optional<PromptRecord>> Find(const std::string& project_id,
                                                   const std::string& name,
                                                   const PromptSelector& selector) {
    std::string sql =
        std::string("SELECT ") + kColumns + " FROM prompts WHERE project_id = ? AND name = ? AND ";
    sql += selector.version
               ? "version = ?"
               : "EXISTS (SELECT 1 FROM json_each(prompts.labels) WHERE value = ?) LIMIT 1";
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(sql));
    st->Bind(1, project_id).Bind(2, name);
    if (selector.version) {
      st->Bind(3, *selector.version);
    } else {
      st->Bind(3, selector.label.value_or(""));
    }
    auto row = st->Step();
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    std::optional<PromptRecord> out;
    if (*row) out = ReadRow(*st);
    st->Reset();
    return out;
  }

  absl::Status UpdateLabelsAndTags(PromptRecord& p, int64_t now) {
    p.updated_at_ms = now;
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("UPDATE prompts SET labels = ?, tags = ?, "
                                             "updated_at = ? WHERE id = ?"));
    st->Bind(1, SerializePromptStringArray(p.labels)).Bind(2, SerializePromptStringArray(p.tags));
    st->Bind(3, now).Bind(4, p.id);
    return RunAndReset(st);
  }

  std::optional<std::shared_ptr<const ResolvedPrompt>> CacheLookup(const std::string& project_id,
                                                                   const std::string& key) {
    std::shared_lock lock(cache_mu_);
    auto project = cache_.find(project_id);
    if (project == cache_.end()) return std::nullopt;
    auto it = project->second.find(key);
    if (it == project->second.end()) return std::nullopt;
    return it->second;
  }

  void CacheStore(const std::string& project_id, const std::string& key,
                  std::shared_ptr<const ResolvedPrompt> value) {
    std::unique_lock lock(cache_mu_);
    ProjectCache& project = cache_[project_id];
    if (project.size() >= kMaxCachedPromptReadsPerProject) project.clear();
    project[key] = std::move(value);
  }

  // Requires db_mu_ (see Get()).
  void InvalidateProject(const std::string& project_id) {
    std::unique_lock lock(cache_mu_);
    cache_.erase(project_id);
  }

  std::mutex db_mu_;
  std::unique_ptr<Db> db_;  // guarded by db_mu_

  std::shared_mutex cache_mu_;
  // project id → read key → result (nullptr caches "not found").
  std::unordered_map<std::string, ProjectCache> cache_;  // guarded by cache_mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<PromptStore>> OpenSqlitePromptStore(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "prompts", PromptMigrations()));
  return std::unique_ptr<PromptStore>(new SqlitePromptStore(std::move(db)));
}

}  // namespace loupe
