// LEB128 varints (protobuf's encoding: 7 bits per byte, least significant
// group first, high bit set on every byte but the last) and zigzag mapping of
// signed integers, plus a bounds-checked reader for untrusted input.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace chaperone::util {

inline void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

constexpr uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t ZigZagDecode(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// 8 bytes, little-endian.
inline void PutFixed64LE(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Little-endian IEEE-754 binary64.
inline void PutDoubleLE(std::string* out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  PutFixed64LE(out, bits);
}

// Reads from a byte string without ever reading past its end. Every Get*
// returns false on truncated or overlong input and leaves the reader failed.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  bool GetByte(uint8_t* v) {
    if (p_ == end_) return false;
    *v = static_cast<uint8_t>(*p_++);
    return true;
  }

  // Rejects encodings longer than 10 bytes and values above 2^64 - 1.
  bool GetVarint64(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      auto byte = static_cast<uint8_t>(*p_++);
      if (shift == 63 && byte > 1) return false;  // would overflow 64 bits
      result |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  bool GetFixed64LE(uint64_t* v) {
    if (end_ - p_ < 8) return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= uint64_t{static_cast<uint8_t>(p_[i])} << (8 * i);
    p_ += 8;
    *v = bits;
    return true;
  }

  bool GetDoubleLE(double* d) {
    uint64_t bits = 0;
    if (!GetFixed64LE(&bits)) return false;
    std::memcpy(d, &bits, sizeof bits);
    return true;
  }

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace chaperone::util
