#include "common/exit_code.h"

namespace chaperone::common {

int ExitCode(const Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == Status::Code::kInvalidArgument ? kExitBadConfig : kExitFailure;
}

}  // namespace chaperone::common
