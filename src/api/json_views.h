#pragma once

// The public API's JSON shapes (Langfuse's Trace, TraceWithDetails,
// ObservationView, Score, Session), built from stored records. Field names,
// nullability and units follow what the Langfuse server returns.

#include <optional>
#include <string>
#include <vector>

#include "boost/json.hpp"
#include "model/records.h"

namespace loupe {

// Shared Trace fields (also used in session detail).
boost::json::object TraceJson(const TraceRecord& t);

// TraceWithDetails: Trace + htmlPath, latency (s), totalCost, and the ids of
// observations and scores. Pass include_* = false for excluded field groups
// (`fields` query), which yields -1 / empty arrays as Langfuse does.
boost::json::object TraceWithDetailsJson(const TraceRecord& t,
                                         const std::vector<std::string>& observation_ids,
                                         const std::vector<std::string>& score_ids, bool include_io,
                                         bool include_metrics);

boost::json::object ObservationJson(const ObservationRecord& o);
boost::json::object ScoreJson(const ScoreRecord& s);
// ScoreV3 (v3 scores, experiments): the core fields, plus the field groups
// asked for (details: comment, configId, metadata; subject: what the score
// is attached to; annotation: authorUserId, queueId).
boost::json::object ScoreV3Json(const ScoreRecord& s, bool details, bool subject, bool annotation);
boost::json::object SessionJson(const SessionRecord& s);

// The string, or null when absent.
boost::json::value StringOrNull(const std::optional<std::string>& s);

// {page, limit, totalItems, totalPages}
boost::json::object MetaJson(int page, int limit, int64_t total_items);

// Langfuse returns stored strings that hold JSON objects/arrays as parsed
// JSON; other values pass through unchanged.
boost::json::value ParseIfJson(const boost::json::value& v);

}  // namespace loupe
