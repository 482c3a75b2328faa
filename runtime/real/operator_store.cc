#include "runtime/real/operator_store.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include <fmt/format.h>

namespace aether::real {

namespace {

constexpr size_t kSecretBytes = 32;

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits a line into its whitespace-separated words.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

const char* auth_failure_name(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMissing: return "missing";
    case AuthFailure::kMalformed: return "malformed";
    case AuthFailure::kUnknownOperator: return "unknown_operator";
    case AuthFailure::kWrongSecret: return "wrong_secret";
    case AuthFailure::kRateLimited: return "rate_limited";
    case AuthFailure::kBusy: return "busy";
  }
  return "unknown";
}

Result<OperatorStore> OperatorStore::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Error::Code::kIo, fmt::format("{}: cannot read the operators file", path));
  std::string text(kOperatorsFileBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kOperatorsFileBytesMax) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("{}: larger than {} bytes", path, kOperatorsFileBytesMax));
  }
  return parse(text, path);
}

Result<OperatorStore> OperatorStore::parse(std::string_view text, const std::string& origin) {
  if (!sodium_ready()) return make_error(Error::Code::kState, "libsodium failed to initialise");
  auto bad = [&](size_t line, const std::string& why) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("{}:{}: {}", origin, line, why));
  };
  OperatorStore store;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string_view> w = words(line);
    if (w.size() != 3) return bad(line_no, "expected NAME ROLE HASH");
    if (!valid_operator_name(w[0])) return bad(line_no, fmt::format("an operator name is 1 to {} characters of a-z 0-9 . _ -", kOperatorNameBytesMax));
    const std::optional<OperatorRole> role = parse_operator_role(w[1]);
    if (!role) return bad(line_no, "the role is viewer, operator or admin");
    if (w[2].rfind("$argon2id$", 0) != 0 || w[2].size() >= crypto_pwhash_STRBYTES) return bad(line_no, "the hash is not an Argon2id hash (crypto_pwhash_str)");
    if (store.operators_.count(w[0]) != 0) return bad(line_no, fmt::format("operator {} appears twice", w[0]));
    if (store.operators_.size() >= kOperatorsMax) return bad(line_no, fmt::format("more than {} operators", kOperatorsMax));
    store.operators_.emplace(std::string(w[0]), Entry{*role, std::string(w[2])});
  }
  auto decoy = hash_secret(new_secret());
  if (!decoy) return decoy.error();
  store.decoy_hash_ = std::move(decoy.value());
  return store;
}

Result<OperatorId> OperatorStore::verify(std::string_view token, AuthFailure* failure) const {
  auto fail = [failure](AuthFailure why) {
    *failure = why;
    return make_error(Error::Code::kInvalidArgument, "authentication failed");
  };
  const size_t dot = token.find('.');
  if (token.size() > kOperatorTokenBytesMax || dot == std::string_view::npos || dot + 1 >= token.size()) return fail(AuthFailure::kMalformed);
  const std::string_view name = token.substr(0, dot);
  const std::string secret(token.substr(dot + 1));
  auto it = operators_.find(name);
  const std::string& hash = it == operators_.end() ? decoy_hash_ : it->second.hash;
  const bool match = crypto_pwhash_str_verify(hash.c_str(), secret.data(), secret.size()) == 0;
  if (it == operators_.end()) return fail(AuthFailure::kUnknownOperator);
  if (!match) return fail(AuthFailure::kWrongSecret);
  return OperatorId{it->first, it->second.role};
}

std::string OperatorStore::new_secret() {
  if (!sodium_ready()) return {};
  unsigned char bytes[kSecretBytes];
  randombytes_buf(bytes, sizeof bytes);
  char text[sodium_base64_ENCODED_LEN(kSecretBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes, sizeof bytes);
  return std::string(text);
}

Result<std::string> OperatorStore::hash_secret(std::string_view secret) {
  if (!sodium_ready()) return make_error(Error::Code::kState, "libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return make_error(Error::Code::kTooLarge, "crypto_pwhash_str failed (out of memory?)");
  }
  return std::string(out);
}

Result<std::string> OperatorStore::add(const std::string& path, const std::string& name, OperatorRole role) {
  if (!valid_operator_name(name)) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("an operator name is 1 to {} characters of a-z 0-9 . _ -", kOperatorNameBytesMax));
  }
  std::string existing;
  if (std::ifstream in(path, std::ios::binary); in) {
    auto store = load(path);
    if (!store) return store.error();
    if (store->operators_.count(name) != 0) return make_error(Error::Code::kInvalidArgument, fmt::format("{}: operator {} exists already", path, name));
    if (store->size() >= kOperatorsMax) return make_error(Error::Code::kTooLarge, fmt::format("{}: {} operators already", path, kOperatorsMax));
  }
  const std::string secret = new_secret();
  auto hash = hash_secret(secret);
  if (!hash) return hash.error();
  const mode_t old_mask = ::umask(077);  // the file holds hashes only, but is nobody else's business
  std::FILE* f = std::fopen(path.c_str(), "a");
  ::umask(old_mask);
  if (f == nullptr) return make_error(Error::Code::kIo, fmt::format("{}: cannot open for appending", path));
  const std::string line = fmt::format("{} {} {}\n", name, operator_role_name(role), *hash);
  const bool written = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) return make_error(Error::Code::kIo, fmt::format("{}: write failed", path));
  return fmt::format("{}.{}", name, secret);
}

Status OperatorStore::remove(const std::string& path, const std::string& name) {
  auto store = load(path);
  if (!store) return store.error();
  if (store->operators_.count(name) == 0) return make_error(Error::Code::kInvalidArgument, fmt::format("{}: no operator {}", path, name));
  std::ifstream in(path, std::ios::binary);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const std::string_view first = std::string_view(line).substr(0, line.find(' '));
    if (first == name) continue;
    kept += line;
    kept += '\n';
  }
  const std::string tmp = path + ".tmp";
  const mode_t old_mask = ::umask(077);
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  ::umask(old_mask);
  if (f == nullptr) return make_error(Error::Code::kIo, fmt::format("{}: cannot create", tmp));
  const bool written = std::fwrite(kept.data(), 1, kept.size(), f) == kept.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return make_error(Error::Code::kIo, fmt::format("{}: rewrite failed", path));
  }
  return ok_status();
}

}  // namespace aether::real
