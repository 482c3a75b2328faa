#!/usr/bin/env bash
# House rule 1, enforced: engine/ is deterministic and does no I/O. Fails listing every offending line.
# Banned: Asio/Beast, OpenSSL, threads and synchronisation, <random>, wall or steady clocks, the environment,
# files and the C library's hidden randomness and time.
set -u
dir=${1:-engine}
pattern='#include *<(boost/asio|boost/beast|openssl/|netinet/|arpa/|sys/)[^>]*>|#include *<(thread|future|mutex|shared_mutex|condition_variable|atomic|random|chrono|ctime|time\.h|fstream|filesystem|unistd\.h|fcntl\.h|dirent\.h|signal\.h|csignal)>|std::random_device|std::mt19937|system_clock|steady_clock|high_resolution_clock|[^_a-zA-Z0-9]rand\(|[^_a-zA-Z0-9]srand\(|[^_a-zA-Z0-9]time\(|getenv|setenv|std::thread|std::async|fopen|std::ifstream|std::ofstream|[^_a-zA-Z0-9]printf\(|std::cout|std::cerr'
hits=$(grep -rnE "$pattern" "$dir" --include='*.h' --include='*.cc' | grep -v 'engine/core/assert.h' || true)
if [ -n "$hits" ]; then
  echo "engine scan: banned calls or includes in $dir (they belong in runtime/real or runtime/sim):"
  echo "$hits"
  exit 1
fi
echo "engine scan: $dir is clean ($(find "$dir" -name '*.h' -o -name '*.cc' | wc -l) files)"
