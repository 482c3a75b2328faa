// aether: one binary, one subcommand per job. See docs/running.md.

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "app/economy_audit.h"
#include "app/economy_content.h"
#include "app/economy_sim.h"
#include "app/sim_cli.h"
#include "app/trace_command.h"
#include "app/viz_command.h"
#include "aether_version.h"

int main(int argc, char** argv) {
  using namespace aether::app;
  CLI::App cli{"Aether: a server engine for massive battles, with a deterministic simulator built from the same code"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string("aether ") + AETHER_VERSION + " (commit " + AETHER_COMMIT + ")", "print the version and the commit built from");

  SimCli sim;
  auto* sim_cmd = add_sim_subcommand(cli, &sim);

  aether::app::EconomySimArgs econ;
  std::string econ_bug;
  auto* econ_cmd = cli.add_subcommand("economy", "the economy's ledger (docs/persistence.md, \"The economy\")");
  auto* econ_sim_cmd = econ_cmd->add_subcommand("sim", "vaults trading through crashes and storage faults in the simulator, with the conservation checker");
  econ_sim_cmd->add_option("--seed", econ.seed, "the run's seed")->capture_default_str();
  econ_sim_cmd->add_option("--vaults", econ.vaults, "vault nodes")->capture_default_str()->check(CLI::Range(2, 16));
  econ_sim_cmd->add_option("--characters", econ.characters_per_vault, "characters per vault")->capture_default_str()->check(CLI::Range(1, 64));
  econ_sim_cmd->add_option("--seconds", econ.seconds, "seconds of play with faults (then 30 s quiet)")->capture_default_str()->check(CLI::Range(5, 3600));
  econ_sim_cmd->add_option("--crashes", econ.crashes, "host crashes (default: one per 10 s)");
  std::string econ_content;
  econ_sim_cmd->add_option("--content", econ_content, "items, the kill drop table and recipes from this content directory (default: the built-in ones, equal to content/items.textpb)");
  econ_sim_cmd->add_option("--planted-bug", econ_bug, "economy-release-on-restart: plant the bug the checker must catch");
  auto* econ_dir = econ_sim_cmd->add_option("--store-dir", econ.store_dir, "at the end, copy each vault's disk to DIR/vault-NODE.sqlite (for audit and rollback)");
  econ_sim_cmd->add_option("--store", econ.store_template, "at the end, copy each vault's disk to this store, {node} replaced by the vault's node (sqlite:PATH or postgres:CONNINFO, empty)")
      ->excludes(econ_dir);
  aether::app::EconomyAuditArgs audit;
  auto* econ_audit_cmd = econ_cmd->add_subcommand("audit", "replay vaults' stored ledgers and check conservation (exit 1 on a violation, naming the entry)");
  econ_audit_cmd->add_option("--store", audit.stores, "a vault's store: a SQLite file (or sqlite:PATH, postgres:CONNINFO); repeat for every vault of the economy");
  std::vector<std::string> audit_pg;
  econ_audit_cmd->add_option("--postgres", audit_pg, "a vault's store in PostgreSQL (a libpq connection string); repeatable");
  econ_audit_cmd->add_flag("--verbose", audit.verbose, "list the trades in flight");
  econ_audit_cmd->add_option("--player", audit.player, "also list this character's entries with their ledger sequences (to choose a rollback's --after)");
  aether::app::CharacterAuditArgs chars;
  auto* econ_chars_cmd = econ_cmd->add_subcommand("characters", "check characters' saves against the compute nodes' loot ledger: every item held once (exit 1 on a violation)");
  econ_chars_cmd->add_option("--store", chars.stores, "the cluster's store: a SQLite file (or sqlite:PATH, postgres:CONNINFO); repeatable");
  std::vector<std::string> chars_pg;
  econ_chars_cmd->add_option("--postgres", chars_pg, "the cluster's store in PostgreSQL (a libpq connection string); repeatable");
  econ_chars_cmd->add_flag("--list", chars.list, "list every character's current save");
  aether::app::EconomyRollbackArgs rollback;
  auto* econ_rollback_cmd = econ_cmd->add_subcommand("rollback", "undo one player's entries after a ledger sequence or a time by compensating entries (dry run unless --apply)");
  auto* rb_store = econ_rollback_cmd->add_option("--store", rollback.store, "the player's home vault's store: a SQLite file (or sqlite:PATH, postgres:CONNINFO)");
  std::string rollback_pg;
  auto* rb_pg = econ_rollback_cmd->add_option("--postgres", rollback_pg, "the player's home vault's store in PostgreSQL (a libpq connection string)");
  rb_store->excludes(rb_pg);
  econ_rollback_cmd->add_option("--player", rollback.player, "the character whose entries are undone")->required();
  auto* rb_after = econ_rollback_cmd->add_option("--after", rollback.after_seq, "undo entries with a higher ledger sequence (the audit and the plan print sequences)");
  auto* rb_after_time = econ_rollback_cmd->add_option("--after-time", rollback.after_time,
                                                      "undo from the first entry stamped after this time: 2026-12-07T21:30:00Z (UTC) or milliseconds since 1970");
  rb_after->excludes(rb_after_time);
  econ_rollback_cmd->add_flag("--apply", rollback.apply, "append the compensating entries (default: print the plan only)");
  econ_cmd->require_subcommand(1);

  LocalArgs local;
  auto* local_cmd = cli.add_subcommand("local", "run coordinator, compute node(s), gateway(s) and bots in one process on loopback TCP");
  local_cmd->add_option("--bots", local.bots, "number of bots")->capture_default_str()->check(CLI::Range(0, 20000));
  local_cmd->add_option("--duration", local.duration_s, "seconds to run")->capture_default_str()->check(CLI::Range(1, 86400));
  local_cmd->add_option("--gateways", local.gateways, "gateways")->capture_default_str()->check(CLI::Range(1, 16));
  local_cmd->add_option("--nodes", local.compute_nodes, "compute nodes")->capture_default_str()->check(CLI::Range(1, 16));
  local_cmd->add_option("--coordinators", local.coordinators, "1, or 2 for leader and vice")->capture_default_str()->check(CLI::Range(1, 2));
  local_cmd->add_option("--trace", local.trace_path, "write the trace to this file");
  local_cmd->add_option("--log-level", local.log_level, "trace, debug, info, warn, error")->capture_default_str();
  local_cmd->add_option("--log-format", local.log_format, "text, or json: one JSON object per line")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  local_cmd->add_flag("--anonymous", local.anonymous, "no accounts: gateways admit clients without a session token (default: bots register and log in)");
  local_cmd->add_option("--data-dir", local.data_dir, "where the cluster keeps accounts, characters' saves and the loot ledger (DIR/local.sqlite)")->capture_default_str();
  local_cmd->add_option("--storage", local.storage, "the cluster's store instead of DATA_DIR/local.sqlite: postgres:CONNINFO or sqlite:PATH");
  local_cmd->add_option("--access-ttl", local.access_ttl_s, "seconds an access token lives (default 900; clients refresh before)")
      ->check(CLI::Range(2, 86400));
  local_cmd->add_flag("--one-thread", local.one_thread, "run every component on one thread (default: a thread per server, one for the bots)");
  local_cmd->add_option("--metrics", local.metrics_address, "serve Prometheus GET /metrics on host:port (port 0: any free port)");
  local_cmd->add_option("--content", local.content_dir, "play the game in this content directory (e.g. content; default: the classic one-skill game)");
  local_cmd->add_option("--arena-m", local.arena_m, "the arena's side in metres (default 400; content/zoned needs 600)")->check(CLI::Range(10, 100000));
  local_cmd->add_option("--travellers", local.travellers, "bots that walk through portals between zones (content with portals)")->check(CLI::Range(0, 20000));
  local_cmd->add_flag("--tls", local.tls, "TLS to the gateways and mutual TLS between servers, with certificates issued for the run");
  local_cmd->add_option("--tls-dir", local.tls_dir, "with --tls: issue the certificates into this directory (default: a new one under /tmp)");
  local_cmd->add_option("--admin", local.admin_address, "with --tls and --operators: coordinator 1 serves operators on host:port (HTTPS)");
  local_cmd->add_option("--operators", local.operators_file, "the operators file of --admin (aether operator add)");
  local_cmd->add_option("--web", local.web_address, "gateway 1 serves browsers on host:port: WebSocket clients and the built client's files (HTTPS with --tls)");
  local_cmd->add_option("--web-root", local.web_root, "with --web: the built browser client (scripts/web.sh build; e.g. build/web)");
  local_cmd->add_option("--web-origin", local.web_origins, "with --web: another origin allowed to open WebSockets (repeatable)");

  AdminArgs admin;
  std::vector<std::string> admin_words;
  auto* admin_cmd = cli.add_subcommand("admin", "operator commands to a coordinator's admin listener (HTTPS): whoami | nodes | entity ID | move ID NODE | drain NODE | failover | debug [--entity E] [--node N] [--off]");
  admin_cmd->add_option("--admin", admin.admin, "the coordinator's admin address host:port (its admin_address)")->required();
  admin_cmd->add_option("--ca", admin.ca_file, "the CA that signed the coordinator's certificate (PEM)");
  admin_cmd->add_option("--tls-dir", admin.tls_dir, "or: a directory of `aether cert`, whose ca.pem is that CA");
  admin_cmd->add_option("--token-file", admin.token_file, "the operator's token (from `aether operator add`); default: $AETHER_ADMIN_TOKEN");
  admin_cmd->add_flag("--force", admin.force, "act under the admin epoch (INT_MAX), superseding any authority (admin role, where enabled)");
  admin_cmd->add_option("words", admin_words, "the command and its arguments")->required();
  admin_cmd->add_option("--entity", admin.debug_entities, "debug: an entity to debug (repeatable)");
  admin_cmd->add_option("--node", admin.debug_nodes, "debug: a compute node or gateway to debug as a whole (repeatable)");
  admin_cmd->add_flag("--off", admin.debug_off, "debug: turn debugging off for those entities and nodes");

  OperatorArgs op;
  std::string op_command;
  auto* operator_cmd = cli.add_subcommand("operator", "operators' credentials for the admin listener: add --file FILE --name NAME --role ROLE | remove --file FILE --name NAME");
  operator_cmd->add_option("command", op_command, "add or remove (a running coordinator takes the change within 2 s)")->required()->check(CLI::IsMember({"add", "remove"}));
  operator_cmd->add_option("--file", op.file, "the operators file (a coordinator's operators_file)")->required();
  operator_cmd->add_option("--name", op.name, "the operator's name (a-z 0-9 . _ -)")->required();
  operator_cmd->add_option("--role", op.role, "add: viewer, operator or admin")->check(CLI::IsMember({"viewer", "operator", "admin"}));
  operator_cmd->add_option("--token-file", op.token_file, "write the token to this new file (mode 0600) instead of printing it");

  CertArgs cert;
  auto* cert_cmd = cli.add_subcommand("cert", "development certificates for mutual TLS: ca | node NAME... | cluster | revoke NAME...");
  cert_cmd->add_option("command", cert.command, "ca, node, cluster or revoke")->required()->check(CLI::IsMember({"ca", "node", "cluster", "revoke"}));
  cert_cmd->add_option("names", cert.names, "node: identities to issue (coordinator-1, compute-101, gateway-201, admin-1, ...); revoke: to revoke");
  cert_cmd->add_option("--dir", cert.dir, "directory of the CA and certificates")->capture_default_str();
  cert_cmd->add_option("--host", cert.hosts, "a host the certificates name (IP or DNS; repeatable; default 127.0.0.1 and localhost)");
  cert_cmd->add_option("--days", cert.days, "validity in days")->capture_default_str()->check(CLI::Range(1, 3650));
  cert_cmd->add_option("--crl-days", cert.crl_days, "revoke: the revocation list's validity in days (issue it again before)")
      ->capture_default_str()->check(CLI::Range(1, 3650));
  cert_cmd->add_option("--coordinators", cert.coordinators, "cluster: coordinators")->capture_default_str()->check(CLI::Range(1, 2));
  cert_cmd->add_option("--nodes", cert.compute_nodes, "cluster: compute nodes")->capture_default_str()->check(CLI::Range(0, 1000));
  cert_cmd->add_option("--gateways", cert.gateways, "cluster: gateways")->capture_default_str()->check(CLI::Range(0, 1000));
  cert_cmd->add_option("--admins", cert.admins, "cluster: operators (admin-1..)")->capture_default_str()->check(CLI::Range(0, 100));

  RoleArgs role;
  for (const char* name : {"coordinator", "compute", "gateway", "bot"}) {
    auto* cmd = cli.add_subcommand(name, std::string("run one ") + name + " process from a config file (config/*.textpb)");
    cmd->add_option("--config", role.config_path, "Protobuf text-format ProcessConfig")->required();
    cmd->add_option("--metrics", role.metrics_address, "serve Prometheus GET /metrics on host:port (overrides metrics_address)");
    cmd->add_option("--log-format", role.log_format, "text or json (overrides log_format)")->check(CLI::IsMember({"text", "json"}));
    cmd->add_option("--listen", role.listen_address, "host:port to listen on (overrides listen_address; an IP literal)");
    cmd->add_flag("--instance-from-hostname", role.instance_from_hostname,
                  "one config for every pod of a StatefulSet: add the host name's ordinal (compute-3: 3) to node_id, "
                  "and replace {node_id} in file and address fields");
    cmd->callback([&role, name] { role.role = name; });
  }

  std::vector<std::string> trace_files;
  std::vector<std::string> dump_files;
  std::string merge_out;
  uint32_t recovery_target_ms = 500;
  auto* trace_cmd = cli.add_subcommand("trace", "read trace files back");
  trace_cmd->require_subcommand(1);
  auto* check_cmd = trace_cmd->add_subcommand("check", "merge trace files by time; check one writer per entity and recovery after node loss");
  check_cmd->add_option("files", trace_files, "trace files (one per process)")->required();
  check_cmd->add_option("--recovery-target-ms", recovery_target_ms, "longest allowed time from loss detection to the entity written again")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  auto* dump_cmd = trace_cmd->add_subcommand("dump", "print trace files (merged by time) as one JSON object per record per line");
  dump_cmd->add_option("files", dump_files, "trace files")->required();
  auto* merge_cmd = trace_cmd->add_subcommand("merge", "merge trace files of several processes into one, by time");
  merge_cmd->add_option("files", trace_files, "trace files")->required();
  merge_cmd->add_option("-o,--out", merge_out, "the merged trace file")->required();
  auto* viz = add_viz_subcommands(cli);

  CLI11_PARSE(cli, argc, argv);
  if (check_cmd->parsed()) return run_trace_check(trace_files, static_cast<aether::TimeNs>(recovery_target_ms) * aether::kNsPerMs);
  if (dump_cmd->parsed()) return run_trace_dump(dump_files);
  if (merge_cmd->parsed()) return run_trace_merge(trace_files, merge_out);
  if (int rc = run_viz_if_parsed(*viz); rc >= 0) return rc;
  if (sim_cmd->parsed()) return run_sim_cli(sim);
  if (econ_sim_cmd->parsed()) {
    if (!aether::parse_planted_bug(econ_bug, &econ.planted)) {
      std::fprintf(stderr, "aether economy sim: unknown planted bug '%s'\n", econ_bug.c_str());
      return 2;
    }
    if (!econ_content.empty()) {
      auto rules = aether::app::load_economy_rules(econ_content);
      if (!rules) {
        std::fprintf(stderr, "aether economy sim: %s\n", rules.error().message.c_str());
        return 2;
      }
      econ.rules = rules.value();
    }
    return aether::app::run_economy_sim_command(econ);
  }
  if (econ_audit_cmd->parsed()) {
    for (const std::string& pg : audit_pg) audit.stores.push_back("postgres:" + pg);
    if (audit.stores.empty()) {
      std::fprintf(stderr, "aether economy audit: give --store FILE or --postgres CONNINFO (one per vault)\n");
      return 2;
    }
    return aether::app::run_economy_audit_command(audit);
  }
  if (econ_chars_cmd->parsed()) {
    for (const std::string& pg : chars_pg) chars.stores.push_back("postgres:" + pg);
    return aether::app::run_character_audit_command(chars);
  }
  if (econ_rollback_cmd->parsed()) {
    if (!rollback_pg.empty()) rollback.store = "postgres:" + rollback_pg;
    if (rb_after->count() + rb_after_time->count() != 1) {
      std::fprintf(stderr, "aether economy rollback: give the point, --after SEQUENCE or --after-time TIME\n");
      return 2;
    }
    if (rollback.store.empty()) {
      std::fprintf(stderr, "aether economy rollback: give --store FILE or --postgres CONNINFO\n");
      return 2;
    }
    return aether::app::run_economy_rollback_command(rollback);
  }
  if (local_cmd->parsed()) return run_local(local);
  if (cert_cmd->parsed()) return run_cert(cert);
  if (admin_cmd->parsed()) {
    admin.command = admin_words[0];
    try {
      if (admin.command == "entity" && admin_words.size() == 2) admin.entity = std::stoull(admin_words[1]);
      if (admin.command == "move" && admin_words.size() == 3) {
        admin.entity = std::stoull(admin_words[1]);
        admin.node = static_cast<uint32_t>(std::stoul(admin_words[2]));
      }
      if (admin.command == "drain" && admin_words.size() == 2) admin.node = static_cast<uint32_t>(std::stoul(admin_words[1]));
    } catch (const std::exception&) {
      std::fprintf(stderr, "aether admin: ids must be numbers\n");
      return 2;
    }
    return run_admin(admin);
  }
  if (operator_cmd->parsed()) return op_command == "remove" ? run_operator_remove(op) : run_operator_add(op);
  return run_role(role);
}
