#include "blob/url_signer.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>

namespace loupe {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kSecretBytes = 32;

}  // namespace

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(kAlphabet[v >> 6 & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (data.size() - i == 1) {
    uint32_t v = byte(i) << 16;
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
  } else if (data.size() - i == 2) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(kAlphabet[v >> 6 & 63]);
  }
  return out;
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  static const auto kTable = [] {
    std::array<int8_t, 256> t;
    t.fill(-1);
    for (int k = 0; k < 64; ++k)
      t[static_cast<unsigned char>(kAlphabet[k])] = static_cast<int8_t>(k);
    return t;
  }();
  out->clear();
  if (in.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    int v = kTable[static_cast<unsigned char>(ch)];
    if (v < 0) return false;
    acc = (acc << 6 | static_cast<uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>(acc >> bits & 0xff));
    }
  }
  return true;
}

std::string UrlSigner::Mac(std::string_view purpose, std::string_view expiry,
                           std::string_view payload) const {
  std::string msg;
  msg.reserve(purpose.size() + expiry.size() + payload.size() + 2);
  msg.append(purpose).append("\n").append(expiry).append("\n").append(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string UrlSigner::Sign(std::string_view purpose, std::string_view payload,
                            int64_t expires_at_s) const {
  const std::string expiry = std::to_string(expires_at_s);
  return Base64UrlEncode(payload) + "." + expiry + "." +
         Base64UrlEncode(Mac(purpose, expiry, payload));
}

absl::StatusOr<std::string> UrlSigner::Verify(std::string_view purpose, std::string_view token,
                                              int64_t now_s) const {
  const auto denied = [] { return absl::PermissionDeniedError("invalid or forged signature"); };
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return denied();
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return denied();
  }
  const std::string_view expiry = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string payload, mac;
  if (!Base64UrlDecode(token.substr(0, dot1), &payload) ||
      !Base64UrlDecode(token.substr(dot2 + 1), &mac)) {
    return denied();
  }
  int64_t expires_at = 0;
  auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), expires_at);
  if (expiry.empty() || ec != std::errc() || end != expiry.data() + expiry.size()) {
    return denied();
  }
  const std::string want = Mac(purpose, expiry, payload);
  // Constant-time comparison: a byte-by-byte early exit would let a caller
  // learn a valid MAC one byte at a time.
  if (mac.size() != want.size() || CRYPTO_memcmp(mac.data(), want.data(), want.size()) != 0) {
    return denied();
  }
  if (now_s >= expires_at) return absl::DeadlineExceededError("the signed URL has expired");
  return payload;
}

absl::StatusOr<std::string> LoadOrCreateSecretFile(const std::string& path) {
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (s.size() >= kSecretBytes) return s;
    }
  }
  unsigned char buf[kSecretBytes];
  if (RAND_bytes(buf, sizeof(buf)) != 1) return absl::InternalError("RAND_bytes failed");
  std::string secret(reinterpret_cast<const char*>(buf), sizeof(buf));
  // Written to a temporary file and renamed, so a crash never leaves a short
  // secret behind (which would be replaced and invalidate issued URLs).
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
            ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError("cannot write " + path + ": " + std::strerror(errno));
  }
  return secret;
}

}  // namespace loupe
