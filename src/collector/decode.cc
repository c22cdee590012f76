#include "collector/decode.h"

#include "chaperone/audit_record.h"

namespace chaperone {
// Weak until the audit-record codec is on main: this lets the collector build
// and run (quarantining everything) without it. Drop the attribute then.
Result<AuditRecord> DecodeAuditRecord(std::string_view json) __attribute__((weak));
}  // namespace chaperone

namespace chaperone::collector {

store::Incoming DecodeMessage(std::string_view payload, std::string source) {
  store::Incoming in;
  in.raw.assign(payload.data(), payload.size());
  in.source = std::move(source);
  if (payload.empty()) {
    in.error = "empty message";
    return in;
  }
  if (&DecodeAuditRecord == nullptr) {
    in.error = "this build has no audit-record decoder";
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
