#include "chaperone/status.h"

namespace chaperone {

std::string Status::ToString() const {
  const char* name = "ok";
  switch (code()) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: name = "invalid argument"; break;
    case Code::kNotFound: name = "not found"; break;
    case Code::kAlreadyExists: name = "already exists"; break;
    case Code::kUnavailable: name = "unavailable"; break;
    case Code::kCorruption: name = "corruption"; break;
    case Code::kInternal: name = "internal"; break;
  }
  return std::string(name) + ": " + message();
}

}  // namespace chaperone
