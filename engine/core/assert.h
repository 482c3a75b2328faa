#pragma once
// Assertions are for our own invariants, never for bytes from a socket or a file (those are validated
// and rejected with a logged reason). They stay on in every build: a broken invariant in a server that
// keeps running is worse than a crash with a message.

#include <cstdio>
#include <cstdlib>

namespace aether::detail {
[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "aether: assertion failed: %s (%s) at %s:%d\n", expr, msg ? msg : "", file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace aether::detail

#define AETHER_ASSERT(expr) \
  ((expr) ? (void)0 : ::aether::detail::assert_fail(#expr, __FILE__, __LINE__, nullptr))
#define AETHER_ASSERT_MSG(expr, msg) \
  ((expr) ? (void)0 : ::aether::detail::assert_fail(#expr, __FILE__, __LINE__, (msg)))
