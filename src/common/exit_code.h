// The exit code of every long-running `chaperone` subcommand (service,
// collector, web, up, mock-kafka): one rule, so that scripts and supervisors
// can tell a configuration to fix from a failure to retry.
#pragma once

#include "chaperone/status.h"

namespace chaperone::common {

inline constexpr int kExitOk = 0;         // a clean stop
inline constexpr int kExitFailure = 1;    // a failure at run time
inline constexpr int kExitBadConfig = 2;  // bad configuration or arguments, a port in use at start

// `chaperone read` and `chaperone diff` answer a question, as diff(1) does:
// 0 when the log matches the audit (read) or nothing differs (diff), 1 when
// something differs, 2 for trouble of any kind (bad arguments or
// configuration, or a failure: a cluster or store that cannot be read).
inline constexpr int kExitDiffers = 1;
inline constexpr int kExitTrouble = 2;

// kExitOk for OK; kExitBadConfig for InvalidArgument (the components report
// bad settings, a store path that does not exist and a listen address that
// cannot be had as InvalidArgument); kExitFailure for anything else.
int ExitCode(const Status& status);

}  // namespace chaperone::common
