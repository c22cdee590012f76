// Content digests (docs/digest.md).
//
// MessageDigest is a 64-bit hash of one message's (key, value). A window's
// digest is the sum modulo 2^64 of the digests of its messages, so it is
// independent of order and merges by addition like the counts. Two tiers with
// equal counts and equal digests for a window saw the same multiset of
// messages; equal counts with different digests reveal loss masked by
// duplicates, or corruption.
#pragma once

#include <cstdint>
#include <string_view>

namespace chaperone {

// Unambiguous: the key/value boundary matters ("ab" + "c" differs from
// "a" + "bc") and a null key or value differs from an empty one. When a side is
// null, its bytes are ignored.
uint64_t MessageDigest(std::string_view key, bool key_null, std::string_view value, bool value_null);

// Window digests add modulo 2^64 (unsigned wrap-around) and subtract likewise.
constexpr uint64_t CombineDigests(uint64_t a, uint64_t b) { return a + b; }

}  // namespace chaperone
