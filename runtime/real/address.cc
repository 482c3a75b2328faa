#include "runtime/real/address.h"

#include <charconv>

#include <fmt/format.h>

namespace aether::real {

namespace asio = boost::asio;

namespace {

constexpr uint32_t kPortMax = 65535;
// Longer than any literal address plus port; refuses absurd input before parsing it.
constexpr size_t kAddressBytesMax = 128;

Result<uint16_t> parse_port(std::string_view text, std::string_view address) {
  uint32_t port = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, port);
  if (text.empty() || ec != std::errc() || ptr != end || port > kPortMax) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("bad port in address '{}'", address));
  }
  return static_cast<uint16_t>(port);
}

Result<asio::ip::address> parse_host(std::string_view host, std::string_view address) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return asio::ip::address(asio::ip::address_v4::loopback());
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return make_error(Error::Code::kInvalidArgument,
                      fmt::format("bad host in address '{}': want an IP literal or localhost", address));
  }
  return ip;
}

}  // namespace

Result<asio::ip::tcp::endpoint> parse_endpoint(std::string_view address) {
  if (address.size() > kAddressBytesMax) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("address of {} bytes is too long", address.size()));
  }
  // The port follows the last colon, so an unbracketed IPv6 literal still parses ("::1:7000").
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("address '{}' is not host:port", address));
  }
  Result<uint16_t> port = parse_port(address.substr(colon + 1), address);
  if (!port.ok()) return port.error();
  Result<asio::ip::address> host = parse_host(address.substr(0, colon), address);
  if (!host.ok()) return host.error();
  return asio::ip::tcp::endpoint(*host, *port);
}

std::string format_endpoint(const asio::ip::tcp::endpoint& endpoint) {
  if (endpoint.address().is_v6()) return fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port());
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

}  // namespace aether::real
