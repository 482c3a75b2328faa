#pragma once
// Runtime::entropy in the real runtime: the operating system's cryptographic generator (getrandom(2),
// which blocks only until the kernel's pool is first initialised at boot). Tokens drawn from it cannot
// be predicted from anything a peer saw, unlike the seeded Random every component also has.

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/core/random.h"

namespace aether::real {

class OsEntropy final : public Random {
 public:
  uint64_t next_u64() override {
    uint64_t v = 0;
    auto* p = reinterpret_cast<unsigned char*>(&v);
    size_t got = 0;
    while (got < sizeof v) {
      const ssize_t n = ::getrandom(p + got, sizeof v - got, 0);
      if (n > 0) {
        got += static_cast<size_t>(n);
      } else if (n < 0 && errno != EINTR) {
        // No secure source (a kernel without getrandom): refusing to hand out guessable tokens is
        // the only safe answer.
        std::fprintf(stderr, "aether: getrandom failed (%s); cannot make secret tokens\n", std::strerror(errno));
        std::abort();
      }
    }
    return v;
  }
};

}  // namespace aether::real
