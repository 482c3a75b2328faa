#pragma once
// What every harness shares: a check that stops the run with its reason (libFuzzer saves the input
// that broke it), and quiet protobuf logging (a malformed string would log a line per input).

#include <cstdio>
#include <cstdlib>

#include <google/protobuf/stubs/logging.h>

#define FUZZ_CHECK(cond, ...)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "fuzz check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fprintf(stderr, "\n");                                                   \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace aether::fuzz {

inline void quiet_protobuf() { google::protobuf::SetLogHandler(nullptr); }

}  // namespace aether::fuzz
