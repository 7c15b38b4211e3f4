#pragma once

// A SharedEpoch (common/shared_epoch.h) kept in one Redis key.

#include <string>

#include "common/shared_epoch.h"
#include "queue/redis_client.h"

namespace loupe {

class RedisEpoch : public SharedEpoch {
 public:
  // `redis` is not owned.
  RedisEpoch(RedisClient* redis, std::string key) : redis_(redis), key_(std::move(key)) {}

  absl::StatusOr<int64_t> Read() override {
    absl::StatusOr<RedisReply> r = redis_->Command({"GET", key_});
    if (!r.ok()) return r.status();
    if (r->is_error()) return absl::UnavailableError("Redis GET " + key_ + ": " + r->str);
    if (r->is_nil()) return 0;
    try {
      return std::stoll(r->str);
    } catch (...) {
      return absl::DataLossError("Redis key " + key_ + " does not hold a number");
    }
  }

  absl::Status Bump() override {
    absl::StatusOr<RedisReply> r = redis_->Command({"INCR", key_});
    if (!r.ok()) return r.status();
    if (r->is_error()) return absl::UnavailableError("Redis INCR " + key_ + ": " + r->str);
    return absl::OkStatus();
  }

 private:
  RedisClient* redis_;
  std::string key_;
};

}  // namespace loupe
