// A 64-bit hash of bytes that is the same in every process and build
// (FNV-1a), for what is stored or must not move between restarts: a
// business's shard, the key of a pipeline's message id kept with the
// conversation slot it took. absl::Hash is seeded per process and must not
// be used for either.
//
//   uint64_t h = StableHash64("acme");  // Same value after a restart.
#ifndef WAPOLICY_POLICY_STABLE_HASH_H_
#define WAPOLICY_POLICY_STABLE_HASH_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace wapolicy {

inline uint64_t StableHash64(absl::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The key a pipeline's message id is kept under (0: no id; never 0 for one).
inline uint64_t MessageKey(absl::string_view message_id) {
  if (message_id.empty()) return 0;
  const uint64_t h = StableHash64(message_id);
  return h == 0 ? 1 : h;
}

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_STABLE_HASH_H_
