#pragma once

// Hashes with fixed, documented outputs: they end up in files on disk and in
// API key lookups, so they must never change between builds or platforms.

#include <cstdint>
#include <string>
#include <string_view>

namespace loupe {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Raw 32-byte SHA-256 of `data`.
std::string Sha256Raw(std::string_view data);

// 64-bit FNV-1a followed by a murmur3 finalizer, used as a compact index key for
// ids (the id itself is always compared too, so collisions only cost a lookup).
// Returned as signed so it fits an SQLite INTEGER column unchanged.
int64_t IdHash64(std::string_view id);

// A random RFC 4122 version-4 UUID in lowercase hex with dashes.
std::string NewUuid();

// `n` random bytes from the OS CSPRNG, hex-encoded.
std::string RandomHex(size_t n);

// Standard base64 decoding; returns false on invalid input.
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace loupe
