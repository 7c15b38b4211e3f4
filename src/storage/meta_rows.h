#pragma once

// Column lists and row-to-record mapping shared by the SQLite and PostgreSQL
// MetaStores, so that both read the same columns in the same order. `Row` is
// any type with Text(col), OptText(col), Int(col) and OptInt(col).

#include "storage/meta_store.h"

namespace loupe::meta_rows {

inline constexpr const char* kOrganizationColumns = "id, name, created_at, metadata";
inline constexpr const char* kProjectColumns =
    "id, org_id, name, metadata, retention_days, created_at, updated_at";
inline constexpr const char* kApiKeyColumns =
    "id, public_key, fast_hashed_secret_key, display_secret_key, scope, project_id, org_id, "
    "note, created_at, expires_at, last_used_at";
inline constexpr const char* kUserColumns = "id, email, name, password_hash, created_at";
inline constexpr const char* kMembershipColumns = "m.user_id, m.role, u.email, u.name";
inline constexpr const char* kInvitationColumns = "id, org_id, email, role, invited_by, created_at";
inline constexpr const char* kUserSessionColumns = "token_hash, user_id, created_at, expires_at";

template <typename Row>
OrganizationRecord ReadOrganization(const Row& r) {
  return {r.Text(0), r.Text(1), r.Int(2), r.Text(3)};
}

template <typename Row>
ProjectRecord ReadProject(const Row& r) {
  ProjectRecord p;
  p.id = r.Text(0);
  p.org_id = r.Text(1);
  p.name = r.Text(2);
  p.metadata_json = r.Text(3);
  if (auto days = r.OptInt(4)) p.retention_days = static_cast<int>(*days);
  p.created_at_ms = r.Int(5);
  p.updated_at_ms = r.OptInt(6).value_or(p.created_at_ms);
  return p;
}

template <typename Row>
ApiKeyRecord ReadApiKey(const Row& r) {
  ApiKeyRecord k;
  k.id = r.Text(0);
  k.public_key = r.Text(1);
  k.fast_hashed_secret_key = r.Text(2);
  k.display_secret_key = r.Text(3);
  k.scope = r.Text(4);
  k.project_id = r.OptText(5).value_or("");
  k.org_id = r.Text(6);
  k.note = r.OptText(7);
  k.created_at_ms = r.Int(8);
  k.expires_at_ms = r.OptInt(9);
  k.last_used_at_ms = r.OptInt(10);
  return k;
}

template <typename Row>
UserRecord ReadUser(const Row& r) {
  return {r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)};
}

template <typename Row>
MembershipRecord ReadMembership(const Row& r) {
  return {r.Text(0), r.Text(1), r.Text(2), r.Text(3)};
}

template <typename Row>
InvitationRecord ReadInvitation(const Row& r) {
  return {r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5)};
}

template <typename Row>
UserSessionRecord ReadUserSession(const Row& r) {
  return {r.Text(0), r.Text(1), r.Int(2), r.Int(3)};
}

}  // namespace loupe::meta_rows
