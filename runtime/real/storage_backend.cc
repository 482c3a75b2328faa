#include "runtime/real/storage_backend.h"

#include <fmt/format.h>

namespace aether::real {

Result<StorageSpec> parse_storage_spec(std::string_view text) {
  auto bad = [&] {
    return make_error(Error::Code::kInvalidArgument,
                      fmt::format("storage '{}': expected sqlite:PATH or postgres:CONNINFO", text));
  };
  StorageSpec spec;
  if (text.starts_with("sqlite:")) {
    spec.kind = StorageSpec::Kind::kSqlite;
    spec.target = std::string(text.substr(7));
  } else if (text.starts_with("postgres:")) {
    spec.kind = StorageSpec::Kind::kPostgres;
    spec.target = std::string(text.substr(9));
  } else {
    return bad();
  }
  if (spec.target.empty() || spec.target.find('\0') != std::string::npos) return bad();
  return spec;
}

Result<std::unique_ptr<StorageBackend>> open_backend(const StorageSpec& spec) {
  return spec.kind == StorageSpec::Kind::kSqlite ? open_sqlite(spec.target) : open_postgres(spec.target);
}

bool any_sync(const std::vector<const WriteBatch*>& batches) {
  for (const WriteBatch* b : batches) {
    if (b->sync) return true;
  }
  return false;
}

void fail_group(std::vector<WriteResult>& results, const StorageStatus& commit) {
  for (WriteResult& r : results) {
    if (!r.status.ok()) continue;
    r.status = commit;
    r.ledger_seqs.clear();
  }
}

Bytes prefix_end(const Bytes& prefix) {
  Bytes end = prefix;
  while (!end.empty() && end.back() == 0xff) end.pop_back();
  if (!end.empty()) ++end.back();
  return end;
}

std::string hex(const Bytes& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

StorageStatus storage_status(StorageCode code, std::string reason) { return StorageStatus{code, std::move(reason)}; }

std::string newer_schema_message(const std::string& store, int64_t found) {
  return fmt::format("{}: database schema version {} is newer than this binary's {}: run a newer aether, or restore a backup made by this version",
                     store, found, kStorageSchemaVersion);
}

}  // namespace aether::real
