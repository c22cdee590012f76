// Fuzzes DecodeAuditRecord with arbitrary bytes. Whatever it accepts must pass
// ValidateAuditRecord and survive an encode/decode round trip unchanged, and
// the encoding must be stable (encode(decode(encode(r))) == encode(r)).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chaperone/audit_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = chaperone::DecodeAuditRecord(input);
  if (!decoded.ok()) return 0;
  if (!chaperone::ValidateAuditRecord(*decoded).ok()) std::abort();
  std::string encoded = chaperone::EncodeAuditRecord(*decoded);
  auto again = chaperone::DecodeAuditRecord(encoded);
  if (!again.ok()) std::abort();
  if (!(*again == *decoded)) std::abort();
  if (chaperone::EncodeAuditRecord(*again) != encoded) std::abort();
  return 0;
}
