#include "engine/accounts/account_service.h"

#include "engine/runtime/storage_keys.h"
#include "engine/wire/bytes.h"

namespace aether::accounts {

namespace {
constexpr uint64_t kFence = 1;  // account rows have no owner generation: every writer writes at 1
constexpr uint64_t kRecordLayout = 1;

Bytes be64(uint64_t v) { return StorageKey("x").u64(v).take(); }  // "x/" + 8 bytes: the last 8 are v
uint64_t read_be64(const Bytes& b) {
  uint64_t v = 0;
  for (size_t i = b.size() - 8; i < b.size(); ++i) v = (v << 8) | b[i];
  return v;
}
Bytes u64_value(uint64_t v) {
  Bytes k = be64(v);
  return Bytes(k.end() - 8, k.end());
}
Bytes name_key(const std::string& name) { return StorageKey("accountname").str(name).take(); }
Bytes account_key(AccountId a) { return StorageKey("account").u64(a.value).take(); }
Bytes character_key(AccountId a, CharacterId c) { return StorageKey("character").u64(a.value).u64(c.value).take(); }
Bytes meta_key() { return StorageKey("meta").str("accounts").take(); }
uint64_t nonzero(Random& r) {
  uint64_t v = 0;
  while (v == 0) v = r.next_u64() >> 1;  // below 2^63: ids travel as signed integers in some tools
  return v;
}
}  // namespace

const char* auth_code_name(AuthCode c) {
  switch (c) {
    case AuthCode::kOk: return "ok";
    case AuthCode::kRefused: return "refused";
    case AuthCode::kNameTaken: return "name_taken";
    case AuthCode::kInvalid: return "invalid";
    case AuthCode::kBusy: return "busy";
    case AuthCode::kUnavailable: return "unavailable";
    case AuthCode::kTokenRefused: return "token_refused";
  }
  return "?";
}

const char* auth_code_message(AuthCode c) {
  switch (c) {
    case AuthCode::kOk: return "";
    case AuthCode::kRefused: return "invalid name or password";
    case AuthCode::kNameTaken: return "name not available";
    case AuthCode::kInvalid: return "name must be 3-32 of a-z 0-9 _ -, password 8-128 bytes";
    case AuthCode::kBusy: return "busy, try again later";
    case AuthCode::kUnavailable: return "accounts unavailable, try again later";
    case AuthCode::kTokenRefused: return "session expired, log in again";
  }
  return "";
}

const char* auth_refusal_name(AuthRefusal r) {
  static constexpr const char* kNames[kAuthRefusalKinds] = {
      "none", "unknown_name", "wrong_password", "account_rate", "address_rate", "limiter_full", "name_taken", "invalid",
      "busy", "storage", "token_missing", "token_unknown", "token_forged", "token_expired", "token_reused"};
  const auto i = static_cast<size_t>(r);
  return i < kAuthRefusalKinds ? kNames[i] : "?";
}

AuthRefusal refusal_of(TokenRefusal r) {
  switch (r) {
    case TokenRefusal::kNone: return AuthRefusal::kNone;
    case TokenRefusal::kMissing: return AuthRefusal::kTokenMissing;
    case TokenRefusal::kUnknown: return AuthRefusal::kTokenUnknown;
    case TokenRefusal::kForged: return AuthRefusal::kTokenForged;
    case TokenRefusal::kExpired: return AuthRefusal::kTokenExpired;
    case TokenRefusal::kReused: return AuthRefusal::kTokenReused;
  }
  return AuthRefusal::kTokenUnknown;
}

bool valid_account_name(std::string_view name) {
  if (name.size() < kAccountNameBytesMin || name.size() > kAccountNameBytesMax) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

bool valid_password(std::string_view password) { return password.size() >= kPasswordBytesMin && password.size() <= kPasswordBytesMax; }

Bytes encode_account(const AccountRecord& a) {
  Bytes out;
  ByteWriter w(out);
  w.varint(kRecordLayout);
  w.string(a.name);
  w.string(a.password_hash);
  w.varint(a.characters);
  return out;
}

bool decode_account(const Bytes& b, AccountRecord& a) {
  ByteReader r(b);
  if (r.varint() != kRecordLayout) return false;
  a.name = std::string(r.string(kAccountNameBytesMax));
  a.password_hash = std::string(r.string(kPasswordHashBytesMax));
  a.characters = r.varint();
  return r.ok() && r.at_end();
}

Bytes encode_character(const CharacterRecord& c) {
  Bytes out;
  ByteWriter w(out);
  w.varint(kRecordLayout);
  w.varint(c.class_id);
  w.string(c.name);
  return out;
}

bool decode_character(const Bytes& b, CharacterRecord& c) {
  ByteReader r(b);
  if (r.varint() != kRecordLayout) return false;
  c.class_id = static_cast<uint32_t>(r.varint_at_most(UINT16_MAX, "class out of range"));
  c.name = std::string(r.string(kAccountNameBytesMax));
  return r.ok() && r.at_end();
}

AccountService::AccountService(Runtime& rt, LoginLimits login, SessionLimits sessions) : rt_(rt), limiter_(login), sessions_(sessions) {}

void AccountService::start() {
  const StorageCode got = rt_.storage.get(meta_key(), [this](GetResult r) {
    if (r.status.code == StorageCode::kNotFound) {
      WriteBatch b;
      b.put(meta_key(), u64_value(kAccountsLayoutVersion), kFence);
      rt_.storage.write(std::move(b), [](WriteResult) {});
      layout_ok_ = true;
      return;
    }
    if (!r.status.ok() || r.row.value.size() != 8) {
      log_at(rt_.log, LogLevel::kError, {}, "accounts: cannot read the layout version ({}): accounts unavailable",
             r.status.ok() ? "malformed" : r.status.reason);
      layout_refused_ = true;
      return;
    }
    const uint64_t version = read_be64(r.row.value);
    if (version > kAccountsLayoutVersion) {
      log_at(rt_.log, LogLevel::kError, {}, "accounts: the store's accounts layout {} is newer than this binary's {}: accounts refused",
             version, kAccountsLayoutVersion);
      layout_refused_ = true;
      return;
    }
    layout_ok_ = true;
  });
  if (got != StorageCode::kOk) {
    log_at(rt_.log, LogLevel::kWarn, {}, "accounts: no store ({}): registration and login will be refused", storage_code_name(got));
  }
  rt_.passwords.hash("aether-dummy-password", [this](std::optional<std::string> stored) {
    if (stored) dummy_hash_ = *stored;
  });
}

void AccountService::finish(const AuthDone& done, AuthOutcome out) {
  AETHER_ASSERT(in_flight_ > 0);
  --in_flight_;
  if (out.code != AuthCode::kOk) ++stats_.refused[static_cast<size_t>(out.why)];
  done(out);
}

void AccountService::refuse(const AuthDone& done, AuthCode code, AuthRefusal why) {
  AuthOutcome out;
  out.code = code;
  out.why = why;
  finish(done, out);
}

void AccountService::register_account(std::string name, std::string password, uint32_t class_id, const std::string& address, AuthDone done) {
  ++in_flight_;  // finish() takes it back, on every path
  if (layout_refused_) return refuse(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
  if (in_flight_ > kAccountOpsMax) return refuse(done, AuthCode::kBusy, AuthRefusal::kBusy);
  if (!valid_account_name(name) || !valid_password(password)) return refuse(done, AuthCode::kInvalid, AuthRefusal::kInvalid);
  if (registering_.count(name)) return refuse(done, AuthCode::kBusy, AuthRefusal::kBusy);
  const TimeNs now = rt_.clock.now_ns();
  if (const LimitVerdict v = limiter_.may_register(address, now); v != LimitVerdict::kAllowed) {
    return refuse(done, AuthCode::kBusy, v == LimitVerdict::kTableFull ? AuthRefusal::kLimiterFull : AuthRefusal::kAddressRate);
  }
  registering_.insert(name);
  auto fail = [this, name](const AuthDone& d, AuthCode code, AuthRefusal why) {
    registering_.erase(name);
    refuse(d, code, why);
  };
  const StorageCode got = rt_.storage.get(name_key(name), [this, name, password = std::move(password), class_id, done, fail](GetResult r) mutable {
    if (layout_refused_) return fail(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
    if (r.status.ok()) return fail(done, AuthCode::kNameTaken, AuthRefusal::kNameTaken);
    if (r.status.code != StorageCode::kNotFound) return fail(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
    const bool queued = rt_.passwords.hash(std::move(password), [this, name, class_id, done, fail](std::optional<std::string> stored) {
      if (!stored) return fail(done, AuthCode::kBusy, AuthRefusal::kBusy);
      const AccountId account(nonzero(rt_.entropy));
      const CharacterId character(nonzero(rt_.entropy));
      WriteBatch b;
      b.put(name_key(name), u64_value(account.value), kFence);
      b.put(account_key(account), encode_account(AccountRecord{name, *stored, 1}), kFence);
      b.put(character_key(account, character), encode_character(CharacterRecord{class_id, name}), kFence);
      const StorageCode wrote = rt_.storage.write(std::move(b), [this, name, account, character, class_id, done, fail](WriteResult w) {
        if (!w.status.ok()) return fail(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
        registering_.erase(name);
        ++stats_.registered;
        AuthOutcome out;
        out.account = account;
        out.character = character;
        out.class_id = class_id;
        out.tokens = sessions_.open(account, character, class_id, rt_.clock.now_ns(), rt_.entropy);
        log_at(rt_.log, LogLevel::kDebug, {}, "accounts: registered {} as account {}, character {} of class {}", name, account.value, character.value,
               class_id);
        finish(done, out);
      });
      if (wrote != StorageCode::kOk) fail(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
    });
    if (!queued) fail(done, AuthCode::kBusy, AuthRefusal::kBusy);
  });
  if (got != StorageCode::kOk) fail(done, got == StorageCode::kBusy ? AuthCode::kBusy : AuthCode::kUnavailable,
                                    got == StorageCode::kBusy ? AuthRefusal::kBusy : AuthRefusal::kStorage);
}

void AccountService::login(std::string name, std::string password, const std::string& address, AuthDone done) {
  ++in_flight_;
  if (layout_refused_) return refuse(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
  if (in_flight_ > kAccountOpsMax) return refuse(done, AuthCode::kBusy, AuthRefusal::kBusy);
  const TimeNs now = rt_.clock.now_ns();
  // Malformed names are looked up like any other (they are never found): the same answer, the same work.
  const std::string key_name = valid_account_name(name) ? name : std::string("-");
  if (const LimitVerdict v = limiter_.may_login(key_name, address, now); v != LimitVerdict::kAllowed) {
    const AuthRefusal why = v == LimitVerdict::kAccountLimited ? AuthRefusal::kAccountRate
                            : v == LimitVerdict::kAddressLimited ? AuthRefusal::kAddressRate
                                                                 : AuthRefusal::kLimiterFull;
    log_at(rt_.log, LogLevel::kInfo, {}, "accounts: login for '{}' from {} refused: {}", key_name, address, auth_refusal_name(why));
    return refuse(done, AuthCode::kRefused, why);
  }
  if (!valid_account_name(name)) {
    login_found(key_name, std::move(password), address, AccountId{}, std::move(done));
    return;
  }
  const StorageCode got = rt_.storage.get(name_key(name), [this, name, password = std::move(password), address, done](GetResult r) mutable {
    if (layout_refused_ || (!r.status.ok() && r.status.code != StorageCode::kNotFound)) return refuse(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
    const AccountId account(r.status.ok() && r.row.value.size() == 8 ? read_be64(r.row.value) : 0);
    login_found(name, std::move(password), address, account, std::move(done));
  });
  if (got != StorageCode::kOk) refuse(done, got == StorageCode::kBusy ? AuthCode::kBusy : AuthCode::kUnavailable,
                                      got == StorageCode::kBusy ? AuthRefusal::kBusy : AuthRefusal::kStorage);
}

// The name's account (invalid: none): its stored hash is verified, or the dummy one, so that an
// unknown name costs what a known one does and answers the same.
void AccountService::login_found(std::string name, std::string password, std::string address, AccountId account, AuthDone done) {
  auto verify = [this, name, address, account, done](std::string password, std::string stored) {
    const bool known = account.valid();
    const bool queued = rt_.passwords.verify(std::move(password), std::move(stored), [this, name, address, account, done, known](bool match) {
      if (!known || !match) {
        limiter_.failed(name, address, rt_.clock.now_ns());
        log_at(rt_.log, LogLevel::kInfo, {}, "accounts: login for '{}' from {} refused: {}", name, address, known ? "wrong password" : "unknown name");
        return refuse(done, AuthCode::kRefused, known ? AuthRefusal::kWrongPassword : AuthRefusal::kUnknownName);
      }
      login_verified(name, account, done);
    });
    if (!queued) refuse(done, AuthCode::kBusy, AuthRefusal::kBusy);
  };
  if (!account.valid()) return verify(std::move(password), dummy_hash_);
  const StorageCode got = rt_.storage.get(account_key(account), [this, password = std::move(password), verify, done](GetResult r) mutable {
    AccountRecord rec;
    if (layout_refused_ || !r.status.ok() || !decode_account(r.row.value, rec)) return refuse(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
    verify(std::move(password), rec.password_hash);
  });
  if (got != StorageCode::kOk) refuse(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
}

// The password matched: the account's first character becomes the session's avatar.
void AccountService::login_verified(const std::string& name, AccountId account, AuthDone done) {
  limiter_.succeeded(name);
  const StorageCode got = rt_.storage.scan(StorageKey("character").u64(account.value).take(), {}, 1, [this, account, done](ScanResult r) {
    if (!r.status.ok()) return refuse(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
    AuthOutcome out;
    out.account = account;
    CharacterRecord c;
    if (!r.rows.empty() && r.rows[0].key.size() >= 8 && decode_character(r.rows[0].value, c)) {
      out.character = CharacterId(read_be64(r.rows[0].key));
      out.class_id = c.class_id;
    }
    ++stats_.logins;
    out.tokens = sessions_.open(account, out.character, out.class_id, rt_.clock.now_ns(), rt_.entropy);
    finish(done, out);
  });
  if (got != StorageCode::kOk) refuse(done, AuthCode::kUnavailable, AuthRefusal::kStorage);
}

AuthOutcome AccountService::refresh(const Token& token) {
  AuthOutcome out;
  const SessionBook::Holder h = sessions_.refresh(token, rt_.clock.now_ns(), rt_.entropy, out.tokens);
  if (h.refusal != TokenRefusal::kNone) {
    out.code = AuthCode::kTokenRefused;
    out.why = refusal_of(h.refusal);
    ++stats_.refused[static_cast<size_t>(out.why)];
    if (h.refusal == TokenRefusal::kReused) {
      log_at(rt_.log, LogLevel::kWarn, {}, "accounts: a spent refresh token of family {:016x} was presented again: the family is revoked", token.id);
    }
    return out;
  }
  ++stats_.refreshes;
  out.account = h.account;
  out.character = h.character;
  out.class_id = h.class_id;
  return out;
}

bool AccountService::logout(const Token& token) {
  const bool closed = sessions_.close(token);
  if (closed) ++stats_.logouts;
  return closed;
}

}  // namespace aether::accounts
