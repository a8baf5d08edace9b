// The byte layouts the engine stored before record_codec.h (big-endian
// integers, strings of at most 255 bytes), kept only so that tests and
// bench/record_codec_bench.cc can show the codec reads and beats them. New
// code uses record_codec.h.
//
//   std::string key;
//   PutFixed64(&key, number);
//   PutString(&key, business_id);  // Truncates past 255 bytes: why it was replaced.
#ifndef WAPOLICY_POLICY_BYTE_CODEC_H_
#define WAPOLICY_POLICY_BYTE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wapolicy {

// Big-endian fixed-width integers (so keys sort numerically) and
// length-prefixed strings for the core's state records. `Out` is any byte
// container with push_back and insert (std::string, RecordBytes).
template <typename Out>
void PutFixed64(Out* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
template <typename Out>
void PutFixed8(Out* out, uint8_t v) {
  out->push_back(static_cast<char>(v));
}
template <typename Out>
void PutRaw(Out* out, absl::string_view s) {
  out->insert(out->end(), s.begin(), s.end());
}
// Up to 255 bytes, length first.
template <typename Out>
void PutString(Out* out, absl::string_view s) {
  if (s.size() > 255) s = s.substr(0, 255);
  PutFixed8(out, static_cast<uint8_t>(s.size()));
  PutRaw(out, s);
}
// Strings up to 4 GiB (template bodies and the like).
template <typename Out>
void PutBytes(Out* out, absl::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  PutRaw(out, s);
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
