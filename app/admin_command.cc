// `aether admin --admin ADDR --ca FILE [--token-file FILE] [--force] COMMAND`: an operator's client of
// a coordinator's admin listener (HTTPS, runtime/real/admin_api.h), never its data port.
//
//   whoami | nodes | entity ID | move ID NODE | drain NODE | failover | debug [--entity E]... [--node N]... [--off]
//
// The listener's certificate is checked against the CA (--ca FILE, or DIR/ca.pem with --tls-dir DIR)
// and the host dialled. The operator's bearer token (NAME.SECRET, from `aether operator add`) is
// read from --token-file or, without it, from the environment variable AETHER_ADMIN_TOKEN.
//
// Orders first read the coordinator's epoch (GET /api/nodes) and are then sent under it, so the log
// and trace show which regime of truth they were given in. --force sends them under the admin epoch
// instead (kEpochAdmin, superseding any authority: an admin's alone, where the coordinator enables it).

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include "app/commands.h"
#include "app/tls_setup.h"
#include "runtime/real/address.h"
#include "runtime/real/admin_server.h"
#include "runtime/real/operator_store.h"
#include "runtime/real/tls.h"

namespace aether::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

constexpr auto kAdminTimeout = std::chrono::seconds(5);
constexpr size_t kAnswerBytesMax = 4 * 1024 * 1024;

struct Answer {
  unsigned status = 0;
  std::string body;
};

// One HTTPS request on a connection of its own.
class Call {
 public:
  Call(asio::io_context& io, asio::ssl::context& tls, std::string host) : stream_(io, tls), host_(std::move(host)) {}

  void start(const asio::ip::tcp::endpoint& to, http::request<http::string_body> request) {
    request_ = std::move(request);
    error_code ignored;
    stream_.set_verify_callback(asio::ssl::host_name_verification(host_), ignored);
    if (!SSL_set_tlsext_host_name(stream_.native_handle(), host_.c_str())) return fail("cannot set the TLS server name");
    beast::get_lowest_layer(stream_).expires_after(kAdminTimeout);
    beast::get_lowest_layer(stream_).async_connect(to, [this](error_code ec) {
      if (ec) return fail(fmt::format("connect: {}", ec.message()));
      stream_.async_handshake(asio::ssl::stream_base::client, [this](error_code ec2) {
        if (ec2) return fail(fmt::format("TLS handshake: {}", ec2.message()));
        http::async_write(stream_, request_, [this](error_code ec3, size_t) {
          if (ec3) return fail(fmt::format("sending: {}", ec3.message()));
          parser_.body_limit(kAnswerBytesMax);
          http::async_read(stream_, buffer_, parser_, [this](error_code ec4, size_t) {
            if (ec4) return fail(fmt::format("reading the answer: {}", ec4.message()));
            answer = Answer{parser_.get().result_int(), parser_.get().body()};
            done = true;
          });
        });
      });
    });
  }

  std::optional<Answer> answer;
  std::string error;
  bool done = false;

 private:
  void fail(std::string why) {
    error = std::move(why);
    done = true;
  }
  beast::ssl_stream<beast::tcp_stream> stream_;
  std::string host_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

struct Client {
  std::string address;
  std::string host;
  asio::ip::tcp::endpoint endpoint;
  std::shared_ptr<real::TlsContext> tls;
  std::string token;
};

Result<Client> make_client(const AdminArgs& args) {
  Client c;
  c.address = args.admin;
  auto endpoint = real::parse_endpoint(args.admin);
  if (!endpoint) return endpoint.error();
  c.endpoint = *endpoint;
  const std::string host = args.admin.substr(0, args.admin.rfind(':'));
  c.host = host.size() >= 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
  const std::string ca = !args.ca_file.empty() ? args.ca_file : !args.tls_dir.empty() ? CertDir{args.tls_dir}.ca_cert() : "";
  if (ca.empty()) return make_error(Error::Code::kInvalidArgument, "--ca FILE (or --tls-dir DIR) names the CA that signed the coordinator's certificate");
  auto tls = real::make_tls_context(real::TlsSide::kClient, real::TlsFiles{{}, {}, ca, {}});
  if (!tls) return tls.error();
  c.tls = *tls;
  if (!args.token_file.empty()) {
    std::ifstream in(args.token_file);
    if (!in) return make_error(Error::Code::kIo, fmt::format("cannot read {}", args.token_file));
    std::getline(in, c.token);
  } else if (const char* env = std::getenv("AETHER_ADMIN_TOKEN"); env != nullptr) {
    c.token = env;
  }
  while (!c.token.empty() && (c.token.back() == '\r' || c.token.back() == ' ')) c.token.pop_back();
  if (c.token.empty()) return make_error(Error::Code::kInvalidArgument, "no token: --token-file FILE or AETHER_ADMIN_TOKEN (from `aether operator add`)");
  return c;
}

Result<Answer> request(const Client& c, http::verb verb, const std::string& target, const std::string& body = {}) {
  asio::io_context io;
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, c.address);
  req.set(http::field::authorization, "Bearer " + c.token);
  req.set(http::field::user_agent, "aether-admin");
  if (verb == http::verb::post) req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  Call call(io, *c.tls, c.host);
  call.start(c.endpoint, std::move(req));
  io.run_for(kAdminTimeout + std::chrono::seconds(1));
  if (call.answer) return *call.answer;
  return make_error(Error::Code::kUnavailable, fmt::format("{}: {}", c.address, call.error.empty() ? "no answer" : call.error));
}

// Our own JSON (admin_api.cc): the strings of "lines", or of "error".
std::vector<std::string> json_strings(const std::string& body, const std::string& key) {
  std::vector<std::string> out;
  size_t i = body.find("\"" + key + "\":");
  if (i == std::string::npos) return out;
  i += key.size() + 3;
  const bool array = i < body.size() && body[i] == '[';
  if (array) ++i;
  while (i < body.size() && body[i] == '"') {
    std::string s;
    for (++i; i < body.size() && body[i] != '"'; ++i) {
      if (body[i] != '\\' || i + 1 >= body.size()) {
        s.push_back(body[i]);
        continue;
      }
      const char e = body[++i];
      if (e == 'n') s.push_back('\n');
      else if (e == 't') s.push_back('\t');
      else if (e == 'r') s.push_back('\r');
      else if (e == 'u' && i + 4 < body.size()) {
        const unsigned long cp = std::strtoul(body.substr(i + 1, 4).c_str(), nullptr, 16);
        s.push_back(cp < 0x80 ? static_cast<char>(cp) : '?');
        i += 4;
      } else s.push_back(e);
    }
    out.push_back(std::move(s));
    ++i;  // the closing quote
    if (!array || i >= body.size() || body[i] != ',') break;
    ++i;
  }
  return out;
}

// Prints an answer; exit status 0 if carried out, 1 if refused, 2 if it could not be asked.
int print(const Result<Answer>& r) {
  if (!r) {
    fmt::print(stderr, "aether admin: {}\n", r.error().message);
    return 2;
  }
  for (const std::string& line : json_strings(r->body, "lines")) fmt::print("{}\n", line);
  for (const std::string& error : json_strings(r->body, "error")) fmt::print(stderr, "aether admin: {} ({})\n", error, r->status);
  if (r->status == 403) fmt::print(stderr, "aether admin: forbidden (403)\n");
  return r->status == 200 ? 0 : r->status == 403 || r->status == 409 ? 1 : 2;
}

// "coordinator 1 leader at epoch 3: ..." -> 3
Epoch epoch_of(const Answer& nodes) {
  const std::vector<std::string> lines = json_strings(nodes.body, "lines");
  if (lines.empty()) return 0;
  const auto at = lines[0].find("at epoch ");
  return at == std::string::npos ? 0 : std::strtoull(lines[0].c_str() + at + 9, nullptr, 10);
}

}  // namespace

int run_admin(const AdminArgs& args) {
  auto client = make_client(args);
  if (!client) {
    fmt::print(stderr, "aether admin: {}\n", client.error().message);
    return 2;
  }
  const Client& c = *client;
  const std::string& cmd = args.command;
  if (cmd == "whoami") return print(request(c, http::verb::get, "/api/whoami"));
  if (cmd == "nodes") return print(request(c, http::verb::get, "/api/nodes"));
  if (cmd == "entity") {
    const int rc = print(request(c, http::verb::get, fmt::format("/api/entity?id={}", args.entity)));
    print(request(c, http::verb::get, fmt::format("/api/ghosts?id={}", args.entity)));
    return rc;
  }
  if (cmd == "debug" && args.debug_entities.empty() && args.debug_nodes.empty()) return print(request(c, http::verb::get, "/api/debug"));
  std::string claim = "force=1";
  if (!args.force) {
    auto nodes = request(c, http::verb::get, "/api/nodes");
    if (!nodes || nodes->status != 200) return print(nodes);
    claim = fmt::format("epoch={}", epoch_of(*nodes));
  }
  if (cmd == "move") return print(request(c, http::verb::post, "/api/move", fmt::format("entity={}&node={}&{}", args.entity, args.node, claim)));
  if (cmd == "drain") return print(request(c, http::verb::post, "/api/drain", fmt::format("node={}&{}", args.node, claim)));
  if (cmd == "failover") return print(request(c, http::verb::post, "/api/failover", claim));
  if (cmd == "debug") {
    if (args.debug_entities.size() > kDebugEntitiesMax || args.debug_nodes.size() > kDebugNodesMax) {
      fmt::print(stderr, "aether admin: at most {} entities and {} nodes are debugged at once\n", kDebugEntitiesMax, kDebugNodesMax);
      return 2;
    }
    std::string body = claim;
    for (uint64_t e : args.debug_entities) body += fmt::format("&entity={}", e);
    for (uint32_t n : args.debug_nodes) body += fmt::format("&node={}", n);
    if (args.debug_off) body += "&off=1";
    return print(request(c, http::verb::post, "/api/debug", body));
  }
  fmt::print(stderr, "aether admin: unknown command '{}' (whoami, nodes, entity, move, drain, failover, debug)\n", cmd);
  return 2;
}

int run_operator_remove(const OperatorArgs& args) {
  const Status removed = real::OperatorStore::remove(args.file, args.name);
  if (!removed) {
    fmt::print(stderr, "aether operator remove: {}\n", removed.error().message);
    return 2;
  }
  fmt::print("operator {} removed from {}; a coordinator serving that file refuses its token within {} s\n", args.name, args.file,
             real::kOperatorsWatchNs / kNsPerSec);
  return 0;
}

int run_operator_add(const OperatorArgs& args) {
  const std::optional<OperatorRole> role = parse_operator_role(args.role);
  if (!role) {
    fmt::print(stderr, "aether operator add: --role is viewer, operator or admin\n");
    return 2;
  }
  auto token = real::OperatorStore::add(args.file, args.name, *role);
  if (!token) {
    fmt::print(stderr, "aether operator add: {}\n", token.error().message);
    return 2;
  }
  if (!args.token_file.empty()) {
    const mode_t old_mask = ::umask(077);  // the token is the operator's alone
    std::FILE* f = std::fopen(args.token_file.c_str(), "wx");  // never overwrites: a token is shown once
    ::umask(old_mask);
    if (f == nullptr) {
      fmt::print(stderr, "aether operator add: {} added to {}, but {} could not be created; its token: {}\n", args.name, args.file, args.token_file, *token);
      return 2;
    }
    fmt::print(f, "{}\n", *token);
    std::fclose(f);
    fmt::print("operator {} ({}) added to {}; token written to {}\n", args.name, args.role, args.file, args.token_file);
    return 0;
  }
  fmt::print("operator {} ({}) added to {}; its token, shown only now:\n{}\n", args.name, args.role, args.file, *token);
  return 0;
}

}  // namespace aether::app
