#include "chaperone/digest.h"

// Inline XXH3 into this file: the hash of a short message is a handful of
// instructions and a call into the shared library would cost as much. The
// result is the same as libxxhash's XXH3_64bits_withSeed.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace chaperone {
namespace {

// Seed base: ASCII "chaperon" (0x63686170_65726f6e). The low two bits carry
// the null flags: bit 0 set when the key is present, bit 1 when the value is.
constexpr uint64_t kSeedBase = 0x6368'6170'6572'6f6eULL & ~uint64_t{3};

}  // namespace

uint64_t MessageDigest(std::string_view key, bool key_null, std::string_view value, bool value_null) {
  uint64_t flags = (key_null ? 0 : 1) | (value_null ? 0 : 2);
  if (key_null) key = {};
  if (value_null) value = {};
  // The value is hashed with the key's hash as seed: a different key (or a
  // different split of the same bytes) gives an unrelated value hash.
  uint64_t key_hash = XXH3_64bits_withSeed(key.data(), key.size(), kSeedBase | flags);
  return XXH3_64bits_withSeed(value.data(), value.size(), key_hash);
}

}  // namespace chaperone
