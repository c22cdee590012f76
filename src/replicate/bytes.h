// Big-endian fixed-width integers and length-prefixed strings for the
// replicator's compact binary encodings (provenance headers, checkpoints).
// Private to src/replicate. ByteReader never reads past its input: every
// getter returns false instead, so decoders of untrusted bytes stay simple.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chaperone::replicate {

inline void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

inline void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

inline void PutI32(std::string& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(u >> shift));
}

inline void PutI64(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(u >> shift));
}

// A string of at most 65535 bytes, prefixed by its length (u16).
inline void PutString(std::string& out, std::string_view s) {
  PutU16(out, static_cast<uint16_t>(s.size()));
  out.append(s.data(), s.size());
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t* v) {
    if (in_.size() < 1) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U16(uint16_t* v) {
    uint64_t u;
    if (!Unsigned(2, &u)) return false;
    *v = static_cast<uint16_t>(u);
    return true;
  }
  bool I32(int32_t* v) {
    uint64_t u;
    if (!Unsigned(4, &u)) return false;
    *v = static_cast<int32_t>(static_cast<uint32_t>(u));
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!Unsigned(8, &u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool String(std::string* s) {
    uint16_t n;
    if (!U16(&n) || in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  bool Unsigned(size_t n, uint64_t* v) {
    if (in_.size() < n) return false;
    uint64_t u = 0;
    for (size_t i = 0; i < n; ++i) u = (u << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(n);
    *v = u;
    return true;
  }
  std::string_view in_;
};

}  // namespace chaperone::replicate
