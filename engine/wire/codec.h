#pragma once
// Translation between engine message structs and the servers' wire bytes (the client protocol is
// engine/wire/client_protocol.h). Encoding cannot fail for messages the
// engine builds. Decoding treats its input as hostile: any parse failure, missing body, out-of-range
// value or over-long list is an Error whose message says what was wrong, for the caller to log before
// it closes the connection.

#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/result.h"
#include "engine/wire/messages.h"

namespace aether {

std::vector<uint8_t> encode(const ServerMessage& message);

Result<ServerMessage> decode_server(std::span<const uint8_t> bytes);

}  // namespace aether
