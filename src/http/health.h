// A component's answer to GET /health, rendered the same way by every
// Chaperone server (service, collector, web). No cpp-httplib here: components
// build verdicts in code that does not serve HTTP.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace chaperone::http {

struct HealthVerdict {
  enum class State {
    kOk,        // 200
    kDegraded,  // 200: serving, with reasons worth a look
    kFailing,   // 503: a load balancer or supervisor should act
  };
  State state = State::kOk;
  // The body's "status" word; empty: "ok", "degraded" or "failing" from state.
  // Components keep their own words ("unavailable", "stopped").
  std::string status;
  // Why the state is not kOk; rendered as "reasons": [...] when not empty.
  std::vector<std::string> reasons;
  // The component's own fields, rendered after "status" in this order.
  nlohmann::ordered_json details = nlohmann::ordered_json::object();

  int http_status() const { return state == State::kFailing ? 503 : 200; }
  // {"status": ..., <details>..., "reasons": [...]}
  std::string ToJson() const;
};

}  // namespace chaperone::http
