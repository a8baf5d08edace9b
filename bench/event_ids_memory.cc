// Bytes of memory per remembered event id (policy/event_ids.h), measured with
// glibc's mallinfo2 (heap and mmapped blocks) around filling an EventIdLog
// with webhook-like ids.
//
//   bazel run -c opt //bench:event_ids_memory -- 1000000 80
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "policy/event_ids.h"

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const size_t id_bytes = argc > 2 ? std::atol(argv[2]) : 80;
  auto heap = [] {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;  // Small blocks, and large ones mapped on their own.
  };
  const size_t before = heap();
  {
    auto* log = new wapolicy::EventIdLog();
    for (long i = 0; i < n; ++i) {
      std::string id = absl::StrCat("wamid.", i, ":delivered");
      id.resize(id_bytes, 'x');
      log->Remember(14155550100ULL, id, i, 1);
    }
    const size_t after = heap();
    std::printf("%ld ids of %zu bytes: %.1f bytes per id (heap in use, mallinfo2)\n", n, id_bytes,
                static_cast<double>(after - before) / n);
    delete log;
  }
  return 0;
}
