// Child processes and condition waits for component tests that drive the real binaries.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace chaperone::testing {

// Starts `argv` (argv[0] is the program path) with stdout and stderr appended
// to `log_path`; returns the pid, or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path);
// Sends `sig`, then waits for the exit; returns the wait status (-1 on timeout).
int KillAndWait(pid_t pid, int sig, std::chrono::milliseconds timeout = std::chrono::seconds(30));
// True while the process is running (not yet exited).
bool Running(pid_t pid);

// Polls `cond` every few ms until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// The last `max_bytes` of a file (for failure messages).
std::string TailFile(const std::string& path, size_t max_bytes = 4000);

}  // namespace chaperone::testing
