#pragma once
// Operators and their credentials (docs/security.md, "Operators"): a text file, one operator a line,
//
//   NAME ROLE HASH        e.g.  alice operator $argon2id$v=19$m=65536,t=2,p=1$...
//
// NAME is 1 to kOperatorNameBytesMax characters of [a-z0-9._-], ROLE viewer, operator or admin, and
// HASH libsodium's crypto_pwhash_str (Argon2id) of the operator's secret. Blank lines and lines
// starting with '#' are skipped; anything else that is not such a line makes the whole file refused
// (a server does not start on a file it half understands). The secret itself is never stored: an
// operator presents NAME.SECRET as a bearer token, given once by `aether operator add`.
//
// The file is untrusted input too: at most kOperatorsFileBytesMax bytes and kOperatorsMax operators.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/result.h"
#include "engine/net/admin_rule.h"

namespace aether::real {

inline constexpr size_t kOperatorsFileBytesMax = 1024 * 1024;
inline constexpr size_t kOperatorsMax = 1024;
// A presented token longer than this is refused before any hashing (ours are 76 bytes at most).
inline constexpr size_t kOperatorTokenBytesMax = 256;

// Why a token was not accepted. The client is told none of this ("authentication failed"); the
// server counts and logs it.
enum class AuthFailure : uint8_t { kMissing, kMalformed, kUnknownOperator, kWrongSecret, kRateLimited, kBusy };
inline constexpr size_t kAuthFailureKinds = 6;
const char* auth_failure_name(AuthFailure failure);

class OperatorStore {
 public:
  static Result<OperatorStore> load(const std::string& path);
  static Result<OperatorStore> parse(std::string_view text, const std::string& origin);

  // Who a bearer token (NAME.SECRET) names, or why not. Costs one Argon2id verification (about
  // 0.1 s and 64 MiB with the interactive limits `aether operator add` uses), also for an unknown
  // name (against a decoy hash), so that the time taken does not tell which names exist. Safe to
  // call from another thread than the one that loaded the store (it only reads).
  Result<OperatorId> verify(std::string_view token, AuthFailure* failure) const;

  size_t size() const { return operators_.size(); }

  // A fresh secret: 32 bytes from the OS (libsodium's randombytes), base64url without padding.
  static std::string new_secret();
  // crypto_pwhash_str of secret with the interactive limits.
  static Result<std::string> hash_secret(std::string_view secret);
  // Appends NAME ROLE HASH to the file at path (created readable by its owner only), refusing a
  // name already there. Returns the token to give the operator (NAME.SECRET), shown only this once.
  static Result<std::string> add(const std::string& path, const std::string& name, OperatorRole role);
  // Removes NAME's line from the file at path, keeping every other line as it was. The file is
  // replaced by a rename, so a coordinator watching it never reads half of it. Refuses an unknown name.
  static Status remove(const std::string& path, const std::string& name);

 private:
  struct Entry {
    OperatorRole role = OperatorRole::kViewer;
    std::string hash;
  };
  std::map<std::string, Entry, std::less<>> operators_;
  std::string decoy_hash_;
};

}  // namespace aether::real
