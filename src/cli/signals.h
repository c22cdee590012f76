// Shutdown on SIGINT/SIGTERM for long-running subcommands.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "chaperone/status.h"

namespace chaperone::cli {

// Installs SIGINT/SIGTERM handlers that set a flag (call once, early).
void InstallShutdownHandlers();
// True once SIGINT or SIGTERM arrived.
bool ShutdownRequested();
// Blocks until a shutdown signal arrives or `timeout` passes; true if signalled.
bool WaitForShutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

// Runs `run(stop)` on this thread; a watcher thread sets `stop` when SIGINT
// or SIGTERM arrives. Returns what `run` returned.
Status RunUntilShutdown(const std::function<Status(const std::atomic<bool>& stop)>& run);

}  // namespace chaperone::cli
