#pragma once

// The management stores on PostgreSQL (DATABASE_URL): score configs, custom
// models, comments, annotation queues, LLM connections and media records.
// Each answers exactly as its SQLite counterpart does (same error codes,
// orderings, pages and uniqueness rules) and is safe to use from many
// threads and many Loupe processes at once.
//
// The stores take the pool they run on, so that one server shares one pool
// among all of them; each applies its own schema migrations (components
// "score_configs", "models", "comments", "annotation_queues",
// "llm_connections", "media") when opened.

#include <memory>

#include "absl/status/statusor.h"
#include "storage/annotation_queue_store.h"
#include "storage/comment_store.h"
#include "storage/llm_connection_store.h"
#include "storage/media_store.h"
#include "storage/model_store.h"
#include "storage/postgres/pg_client.h"
#include "storage/score_config_store.h"

namespace loupe {

// Unlike the SQLite store, Get() reads the database every time: another
// process may have updated the config, and a read must never return data
// older than the last completed write.
absl::StatusOr<std::unique_ptr<ScoreConfigStore>> OpenPostgresScoreConfigStore(
    std::shared_ptr<pg::Pool> pool);

absl::StatusOr<std::unique_ptr<ModelStore>> OpenPostgresModelStore(std::shared_ptr<pg::Pool> pool);

absl::StatusOr<std::unique_ptr<CommentStore>> OpenPostgresCommentStore(
    std::shared_ptr<pg::Pool> pool);

absl::StatusOr<std::unique_ptr<AnnotationQueueStore>> OpenPostgresAnnotationQueueStore(
    std::shared_ptr<pg::Pool> pool);

absl::StatusOr<std::unique_ptr<LlmConnectionStore>> OpenPostgresLlmConnectionStore(
    std::shared_ptr<pg::Pool> pool);

absl::StatusOr<std::unique_ptr<MediaStore>> OpenPostgresMediaStore(std::shared_ptr<pg::Pool> pool);

}  // namespace loupe
