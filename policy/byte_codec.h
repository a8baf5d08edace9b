#ifndef WAPOLICY_POLICY_BYTE_CODEC_H_
#define WAPOLICY_POLICY_BYTE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wapolicy {

// Big-endian fixed-width integers (so keys sort numerically) and
// length-prefixed strings for the core's state records.
inline void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutFixed8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void PutString(std::string* out, absl::string_view s) {
  PutFixed8(out, static_cast<uint8_t>(s.size() > 255 ? 255 : s.size()));
  out->append(s.data(), s.size() > 255 ? 255 : s.size());
}

// Strings up to 4 GiB (template bodies and the like).
inline void PutBytes(std::string* out, absl::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out->append(s.data(), s.size());
}

// Reads what the Put* functions wrote; every Get fails (returns false) past the end.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view in) : in_(in) {}
  bool GetFixed64(uint64_t* v) {
    if (in_.size() < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    *v = r;
    return true;
  }
  bool GetInt64(int64_t* v) {
    uint64_t u;
    if (!GetFixed64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool GetFixed8(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool GetString(std::string* s) {
    uint8_t n;
    if (!GetFixed8(&n) || in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool GetBytes(std::string* s) {
    if (in_.size() < 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    if (in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_BYTE_CODEC_H_
