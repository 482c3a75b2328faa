#pragma once
// The subcommands of `aether`. Each returns the process exit code.

#include <cstdint>
#include <string>
#include <vector>

namespace aether::app {

struct SimArgs {
  std::string scenario;
  uint64_t seed = 1;
  bool seed_given = false;  // else a scenario's replay_seed, if it has one, is used
  bool cpu = false;         // --cpu: each process's own CPU time per tick
  uint64_t seed_first = 0;  // --seeds A..B: a sweep (seed_last != 0)
  uint64_t seed_last = 0;
  uint32_t jobs = 1;
  std::string trace_path;
  std::string log_level = "warn";
  bool print_faults = false;  // print the run's fault schedule as scenario events, and stop
};
int run_sim(const SimArgs& args);

struct LocalArgs {
  uint32_t bots = 200;
  uint32_t duration_s = 20;
  uint32_t gateways = 1;
  uint32_t compute_nodes = 1;
  uint32_t coordinators = 1;
  std::string trace_path;
  std::string log_level = "info";
  std::string log_format = "text";  // text | json (one JSON object per line)
  std::string metrics_address;      // "host:port" (port 0: any) to serve GET /metrics; empty: none
  bool one_thread = false;          // every component on the main thread (default: a loop and thread per server, one for the bots)
  bool tls = false;                 // TLS to the gateways, mutual TLS between servers, with certificates issued for the run
  std::string tls_dir;              // where those certificates go (empty: a new temporary directory)
  std::string content_dir;          // the game's content (empty: the classic one-skill game)
  uint32_t arena_m = 0;             // the arena's side (0: the rules' 400 m); content with zones may need more
  uint32_t travellers = 0;          // bots that walk through portals (BotConfig::travel)
  std::string admin_address;        // with tls: coordinator 1's admin listener (docs/security.md, "Operators")
  std::string operators_file;       // its operators
  std::string web_address;          // gateway 1's browsers' listener (docs/browser.md); empty: none
  std::string web_root;             // the built browser client it serves
  std::vector<std::string> web_origins;
  bool anonymous = false;           // no accounts: gateways admit anyone, bots play without logging in
  std::string data_dir = "aether-data";  // the cluster's store: DATA_DIR/local.sqlite (accounts, saves, loot ledger)
  std::string storage;                   // instead: this store ("postgres:CONNINFO", "sqlite:PATH"), shared by every server
  uint32_t access_ttl_s = 0;        // access tokens' lifetime (0: SessionLimits' 15 min); short ones test clients' refresh
};
int run_local(const LocalArgs& args);

struct AdminArgs {
  std::string admin;        // the coordinator's admin listener, host:port
  std::string ca_file;      // the CA that signed its certificate
  std::string tls_dir;      // or DIR/ca.pem
  std::string token_file;   // the operator's token (NAME.SECRET); empty: AETHER_ADMIN_TOKEN
  bool force = false;       // act under the admin epoch (INT_MAX)
  std::string command;      // whoami, nodes, entity, move, drain, failover, debug
  uint64_t entity = 0;
  uint32_t node = 0;
  std::vector<uint64_t> debug_entities;  // debug --entity E (repeatable)
  std::vector<uint32_t> debug_nodes;     // debug --node N (repeatable)
  bool debug_off = false;                // debug --off
};
int run_admin(const AdminArgs& args);

// `aether operator add --file FILE --name NAME --role viewer|operator|admin [--token-file OUT]`
struct OperatorArgs {
  std::string file;        // the operators file (operators_file in the coordinator's config)
  std::string name;
  std::string role;
  std::string token_file;  // write the token there (created, never overwritten) instead of printing it
};
int run_operator_add(const OperatorArgs& args);
// `aether operator remove`: the operator's line goes; a running coordinator refuses its token within kOperatorsWatchNs.
int run_operator_remove(const OperatorArgs& args);

// `aether coordinator|compute|gateway|bot --config FILE [--metrics ADDR] [--log-format json]`
struct RoleArgs {
  std::string role;
  std::string config_path;
  std::string metrics_address;  // overrides the config's metrics_address when set
  std::string log_format;       // overrides the config's log_format when set
  std::string listen_address;   // overrides the config's listen_address when set (a pod's IP: "$(POD_IP):7100")
  bool instance_from_hostname = false;  // a StatefulSet pod: node_id += the host name's ordinal (role_command.cc)
};
int run_role(const RoleArgs& args);

// `aether cert ca|node|cluster --dir DIR ...`: development certificates (docs/security.md).
struct CertArgs {
  std::string command;               // ca, node, cluster, revoke
  std::string dir = "certs";
  std::vector<std::string> names;    // node: identities to issue (e.g. compute-101, admin-1)
  std::vector<std::string> hosts;    // subjectAltNames (default: 127.0.0.1 and localhost)
  int days = 365;
  int crl_days = 30;                 // revoke: the list's validity (real::kCrlDaysDefault)
  uint32_t coordinators = 1;         // cluster: identities as `aether local` numbers them
  uint32_t compute_nodes = 1;
  uint32_t gateways = 1;
  uint32_t admins = 1;
};
int run_cert(const CertArgs& args);

}  // namespace aether::app
