#include "server/bootstrap.h"

#include <argon2.h>

#include <cstdio>
#include <cstring>

#include "common/hash.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace loupe {
namespace {

ApiKeyRecord MakeKey(const ApiKeyAuthenticator& auth, const std::string& project_id,
                     const std::string& org_id, const std::string& pk, const std::string& sk) {
  ApiKeyRecord k;
  k.id = "key-" + Sha256Hex(pk).substr(0, 24);
  k.public_key = pk;
  k.fast_hashed_secret_key = auth.HashSecret(sk);
  k.display_secret_key = ApiKeyAuthenticator::DisplaySecretKey(sk);
  k.scope = "PROJECT";
  k.project_id = project_id;
  k.org_id = org_id;
  return k;
}

}  // namespace

std::string HashPassword(const std::string& password) {
  // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
  constexpr uint32_t kTime = 2, kMemoryKiB = 19456, kLanes = 1, kHashLen = 32, kSaltLen = 16;
  std::string salt = RandomHex(kSaltLen / 2);  // 16 hex characters = 16 salt bytes
  size_t len = argon2_encodedlen(kTime, kMemoryKiB, kLanes, kSaltLen, kHashLen, Argon2_id);
  std::string out(len, '\0');
  int rc = argon2id_hash_encoded(kTime, kMemoryKiB, kLanes, password.data(), password.size(),
                                 salt.data(), kSaltLen, kHashLen, out.data(), out.size());
  if (rc != ARGON2_OK) return "";
  out.resize(std::strlen(out.c_str()));
  return out;
}

absl::Status Bootstrap(const Config& config, MetaStore& meta, const ApiKeyAuthenticator& auth,
                       int port) {
  const InitConfig& init = config.init;
  std::string host =
      config.public_url.empty() ? "http://localhost:" + std::to_string(port) : config.public_url;
  if (!init.org_id.empty()) {
    RETURN_IF_ERROR(meta.UpsertOrganization(
        {init.org_id, init.org_name.empty() ? init.org_id : init.org_name, 0}));
    if (!init.project_id.empty()) {
      ProjectRecord p;
      p.id = init.project_id;
      p.org_id = init.org_id;
      p.name = init.project_name.empty() ? init.project_id : init.project_name;
      p.retention_days = init.project_retention_days;
      RETURN_IF_ERROR(meta.UpsertProject(p));
      if (!init.public_key.empty() && !init.secret_key.empty()) {
        RETURN_IF_ERROR(meta.UpsertApiKey(
            MakeKey(auth, init.project_id, init.org_id, init.public_key, init.secret_key)));
      }
    }
    if (!init.org_public_key.empty() && !init.org_secret_key.empty()) {
      ApiKeyRecord k = MakeKey(auth, "", init.org_id, init.org_public_key, init.org_secret_key);
      k.scope = "ORGANIZATION";
      RETURN_IF_ERROR(meta.UpsertApiKey(k));
    }
    if (!init.user_email.empty() && !init.user_password.empty()) {
      UserRecord u;
      u.email = init.user_email;
      u.name = init.user_name.empty() ? init.user_email : init.user_name;
      u.password_hash = HashPassword(init.user_password);
      if (u.password_hash.empty()) return absl::InternalError("argon2 hashing failed");
      ASSIGN_OR_RETURN(std::string user_id, meta.UpsertUser(u));
      RETURN_IF_ERROR(meta.UpsertOrgMembership(init.org_id, user_id, "OWNER"));
    }
    LogInfo("headless initialization applied",
            {{"org", init.org_id}, {"project", init.project_id}});
    return absl::OkStatus();
  }

  ASSIGN_OR_RETURN(int64_t keys, meta.CountApiKeys());
  if (keys > 0) return absl::OkStatus();
  const std::string org_id = "org-" + RandomHex(8);
  const std::string project_id = "project-" + RandomHex(8);
  RETURN_IF_ERROR(meta.UpsertOrganization({org_id, "My Organization", 0}));
  ProjectRecord p;
  p.id = project_id;
  p.org_id = org_id;
  p.name = "My Project";
  RETURN_IF_ERROR(meta.UpsertProject(p));
  std::string pk = "pk-lf-" + NewUuid();
  std::string sk = "sk-lf-" + NewUuid();
  RETURN_IF_ERROR(meta.UpsertApiKey(MakeKey(auth, project_id, org_id, pk, sk)));
  std::printf(
      "\nLoupe created a project and an API key. The secret key is shown only this once;\n"
      "paste these lines into your application's environment:\n\n"
      "  LANGFUSE_HOST=%s\n  LANGFUSE_PUBLIC_KEY=%s\n  LANGFUSE_SECRET_KEY=%s\n\n",
      host.c_str(), pk.c_str(), sk.c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

}  // namespace loupe
