// Shutdown on SIGINT/SIGTERM for long-running subcommands.
#pragma once

#include <chrono>

namespace chaperone::cli {

// Installs SIGINT/SIGTERM handlers that set a flag (call once, early).
void InstallShutdownHandlers();
// True once SIGINT or SIGTERM arrived.
bool ShutdownRequested();
// Blocks until a shutdown signal arrives or `timeout` passes; true if signalled.
bool WaitForShutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

}  // namespace chaperone::cli
