#pragma once
// "host:port" addresses of the real runtime. The host is an IPv4 or IPv6 literal (an IPv6 literal may
// be bracketed: "[::1]:7000") or "localhost", which means the IPv4 loopback: Aether never asks a name
// resolver, so an address is read the same way on every machine and never blocks the event loop.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "engine/core/result.h"

namespace aether::real {

// Parses "host:port". Port 0 is accepted (listen picks a free port; connect to it fails).
Result<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view address);

// "1.2.3.4:5" or "[::1]:5": the form parse_endpoint reads back.
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace aether::real
