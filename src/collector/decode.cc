#include "collector/decode.h"

#include "chaperone/audit_record.h"

namespace chaperone::collector {

store::Incoming DecodeMessage(std::string_view payload, std::string source) {
  store::Incoming in;
  in.raw.assign(payload.data(), payload.size());
  in.source = std::move(source);
  if (payload.empty()) {
    in.error = "empty message";
    return in;
  }
  auto r = DecodeAuditRecord(payload);
  if (!r.ok()) {
    in.error = r.status().message().empty() ? r.status().ToString() : r.status().message();
    return in;
  }
  in.record = std::move(*r);
  return in;
}

}  // namespace chaperone::collector
