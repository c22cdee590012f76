// Fuzzes what the replicator reads back from a destination cluster it does
// not control: provenance headers and checkpoint records. The input is split
// into headers (1-byte name length, name, 1-byte value length with 255 = null,
// value) and, for checkpoints, into a key and a value. Decoding never crashes;
// whatever decodes re-encodes to something that decodes to the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

#include "replicate/checkpoint.h"
#include "replicate/provenance.h"

using chaperone::replicate::HeaderView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Provenance headers.
  std::vector<HeaderView> headers;
  size_t p = 0;
  while (p + 2 <= in.size() && headers.size() < 16) {
    size_t name_len = static_cast<uint8_t>(in[p++]);
    if (p + name_len > in.size()) break;
    std::string_view name = in.substr(p, name_len);
    p += name_len;
    if (p >= in.size()) break;
    size_t value_len = static_cast<uint8_t>(in[p++]);
    std::optional<std::string_view> value;
    if (value_len != 255) {
      if (p + value_len > in.size()) break;
      value = in.substr(p, value_len);
      p += value_len;
    }
    headers.push_back({name, value});
  }
  auto decoded = chaperone::replicate::DecodeProvenance(headers);
  if (decoded.ok()) {
    auto encoded = chaperone::replicate::EncodeProvenance(*decoded);
    if (!encoded.ok()) std::abort();
    std::vector<HeaderView> views;
    for (const auto& h : *encoded)
      views.push_back({h.name, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt});
    auto again = chaperone::replicate::DecodeProvenance(views);
    if (!again.ok() || !(*again == *decoded)) std::abort();
  }
  (void)chaperone::replicate::DecideCopy(headers, "dst");
  // Checkpoints: the first byte says where the key ends.
  if (!in.empty()) {
    size_t split = std::min(static_cast<size_t>(static_cast<uint8_t>(in[0])), in.size() - 1);
    std::string_view key = in.substr(1, split), value = in.substr(1 + split);
    auto cp = chaperone::replicate::DecodeCheckpoint(key, value);
    if (cp.ok()) {
      auto k = chaperone::replicate::EncodeCheckpointKey(cp->key);
      auto v = chaperone::replicate::EncodeCheckpointValue(*cp);
      if (!k.ok() || !v.ok()) std::abort();
      auto again = chaperone::replicate::DecodeCheckpoint(*k, *v);
      if (!again.ok() || !(*again == *cp)) std::abort();
    }
  }
  return 0;
}
