#pragma once

// AWS Signature Version 4 ("AWS4-HMAC-SHA256"), the one signing path of the
// S3 client: header-signed requests (Authorization) and query-signed ones
// (presigned URLs handed to SDKs) share the canonical request, the string to
// sign and the HMAC-SHA256 key chain below.
//
// The signer signs exactly what it is given: the caller lists the headers to
// sign (Host among them; for S3 also x-amz-content-sha256) and sends the
// request with those very values. Paths are passed already percent-encoded,
// as they go on the wire (S3 does not encode them a second time); query
// parameters are passed decoded and encoded here, so the URL and the
// signature agree by construction (CanonicalQuery() is both).
//
// Thread-safe: a signer is immutable after construction.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loupe {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only; empty otherwise
};

using SigV4Params = std::vector<std::pair<std::string, std::string>>;

// One HTTP request as SigV4 sees it.
struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  // Percent-encoded absolute path ("/bucket/a%20b"); see UriEncode().
  std::string path = "/";
  SigV4Params query;    // decoded names and values, any order
  SigV4Params headers;  // to sign, Host included; names in any case
  // Lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_hash;
};

class SigV4Signer {
 public:
  SigV4Signer(AwsCredentials credentials, std::string region, std::string service = "s3");

  // Header authentication at `now_s` (Unix seconds): adds X-Amz-Date (and
  // X-Amz-Security-Token with temporary credentials) to request->headers and
  // returns the value of the Authorization header to send with them.
  std::string SignHeaders(SigV4Request* request, int64_t now_s) const;

  // Query authentication valid for `expires_s` seconds from `now_s`: adds
  // the X-Amz-* parameters, X-Amz-Signature among them, to request->query.
  // The URL is the path plus "?" CanonicalQuery(request->query); whoever
  // uses it must send request->headers with the same values.
  void Presign(SigV4Request* request, int64_t now_s, int64_t expires_s) const;

  const std::string& region() const { return region_; }
  const std::string& access_key_id() const { return credentials_.access_key_id; }

  // The steps, exposed for tests against published vectors.
  static std::string CanonicalRequest(const SigV4Request& request);
  static std::string SignedHeaderNames(const SigV4Params& headers);
  static std::string StringToSign(std::string_view amz_date, std::string_view scope,
                                  std::string_view canonical_request);
  // Raw HMAC key: HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
  static std::string SigningKey(std::string_view secret, std::string_view date,
                                std::string_view region, std::string_view service);
  // Lowercase hex signature of `canonical_request` at `amz_date`.
  std::string Signature(std::string_view amz_date, std::string_view canonical_request) const;

 private:
  std::string Scope(std::string_view date) const;

  const AwsCredentials credentials_;
  const std::string region_;
  const std::string service_;
};

// "k1=v1&k2=v2": names and values UriEncode()d, sorted by name then value.
std::string CanonicalQuery(const SigV4Params& query);

// RFC 3986 percent-encoding as SigV4 wants it: every byte except
// A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex); '/' is kept when
// `keep_slash` (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);

// "20130524T000000Z" for a Unix time.
std::string AmzDate(int64_t unix_s);

// Lowercase hex SHA-256 of the empty string: the payload hash of a bodiless request.
inline constexpr std::string_view kEmptySha256Hex =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace loupe
