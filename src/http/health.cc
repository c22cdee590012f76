#include "http/health.h"

namespace chaperone::http {

std::string HealthVerdict::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!status.empty()) {
    j["status"] = status;
  } else {
    j["status"] = state == State::kOk ? "ok" : state == State::kDegraded ? "degraded" : "failing";
  }
  if (details.is_object()) {
    for (auto it = details.begin(); it != details.end(); ++it) {
      if (it.key() != "status" && it.key() != "reasons") j[it.key()] = it.value();
    }
  }
  if (!reasons.empty()) j["reasons"] = reasons;
  // Replace invalid UTF-8 (an error message quoting bytes) rather than throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace chaperone::http
