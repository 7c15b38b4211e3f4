#include "blob/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/hash.h"

namespace loupe {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string Hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trimmed, with inner runs of spaces collapsed to one (the canonical form of
// a header value).
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Lowercase names with their canonical values, sorted by name; values of a
// repeated header stay in the order given.
std::vector<std::pair<std::string, std::string>> SortedHeaders(const SigV4Params& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(headers.size());
  for (const auto& [name, value] : headers) out.emplace_back(Lower(name), CanonicalValue(value));
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string AmzDate(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQuery(const SigV4Params& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

SigV4Signer::SigV4Signer(AwsCredentials credentials, std::string region, std::string service)
    : credentials_(std::move(credentials)),
      region_(std::move(region)),
      service_(std::move(service)) {}

std::string SigV4Signer::SignedHeaderNames(const SigV4Params& headers) {
  std::string out;
  std::string last;
  for (const auto& [name, value] : SortedHeaders(headers)) {
    if (name == last) continue;
    if (!out.empty()) out.push_back(';');
    out.append(name);
    last = name;
  }
  return out;
}

std::string SigV4Signer::CanonicalRequest(const SigV4Request& request) {
  std::string out;
  out.append(request.method).append("\n");
  out.append(request.path.empty() ? "/" : request.path).append("\n");
  out.append(CanonicalQuery(request.query)).append("\n");
  const auto headers = SortedHeaders(request.headers);
  for (size_t i = 0; i < headers.size(); ++i) {
    // A repeated header is one line, its values joined by commas.
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      out.back() = ',';
    } else {
      out.append(headers[i].first).append(":");
    }
    out.append(headers[i].second).append("\n");
  }
  out.append("\n");
  out.append(SignedHeaderNames(request.headers)).append("\n");
  out.append(request.payload_hash);
  return out;
}

std::string SigV4Signer::StringToSign(std::string_view amz_date, std::string_view scope,
                                      std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out.append(Sha256Hex(canonical_request));
  return out;
}

std::string SigV4Signer::SigningKey(std::string_view secret, std::string_view date,
                                    std::string_view region, std::string_view service) {
  std::string key = Hmac("AWS4" + std::string(secret), date);
  key = Hmac(key, region);
  key = Hmac(key, service);
  return Hmac(key, "aws4_request");
}

std::string SigV4Signer::Scope(std::string_view date) const {
  return std::string(date) + "/" + region_ + "/" + service_ + "/aws4_request";
}

std::string SigV4Signer::Signature(std::string_view amz_date,
                                   std::string_view canonical_request) const {
  const std::string_view date = amz_date.substr(0, 8);
  const std::string key = SigningKey(credentials_.secret_access_key, date, region_, service_);
  return Hex(Hmac(key, StringToSign(amz_date, Scope(date), canonical_request)));
}

std::string SigV4Signer::SignHeaders(SigV4Request* request, int64_t now_s) const {
  const std::string amz_date = AmzDate(now_s);
  request->headers.emplace_back("X-Amz-Date", amz_date);
  if (!credentials_.session_token.empty()) {
    request->headers.emplace_back("X-Amz-Security-Token", credentials_.session_token);
  }
  const std::string signature = Signature(amz_date, CanonicalRequest(*request));
  return std::string(kAlgorithm) + " Credential=" + credentials_.access_key_id + "/" +
         Scope(amz_date.substr(0, 8)) + ", SignedHeaders=" + SignedHeaderNames(request->headers) +
         ", Signature=" + signature;
}

void SigV4Signer::Presign(SigV4Request* request, int64_t now_s, int64_t expires_s) const {
  const std::string amz_date = AmzDate(now_s);
  SigV4Params& q = request->query;
  q.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  q.emplace_back("X-Amz-Credential",
                 credentials_.access_key_id + "/" + Scope(amz_date.substr(0, 8)));
  q.emplace_back("X-Amz-Date", amz_date);
  q.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  q.emplace_back("X-Amz-SignedHeaders", SignedHeaderNames(request->headers));
  if (!credentials_.session_token.empty()) {
    q.emplace_back("X-Amz-Security-Token", credentials_.session_token);
  }
  q.emplace_back("X-Amz-Signature", Signature(amz_date, CanonicalRequest(*request)));
}

}  // namespace loupe
