// Subprocess helpers for component and end-to-end tests: start a program
// (the chaperone binary, kcat, psql ...), read its output line by line with a
// timeout, wait for files, stop it. Every wait is bounded; nothing sleeps for
// a fixed time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"

namespace chaperone::test {

using std::chrono::milliseconds;

struct CommandResult {
  int exit_code = -1;  // or 128 + signal
  std::string out;
  std::string err;
};

struct ProcessOptions {
  enum class Stream {
    kInherit,  // the test's own stream (shows up in the test log)
    kPipe,     // readable with ReadLine / ReadAll (stdout) or ReadAllStderr (stderr)
    kNull,     // /dev/null
  };
  Stream stdout_mode = Stream::kPipe;
  Stream stderr_mode = Stream::kInherit;
  bool pipe_stdin = false;       // WriteStdin / CloseStdin; otherwise /dev/null
  std::vector<std::string> env;  // extra "NAME=VALUE" entries on top of the test's environment
  std::string cwd;               // working directory; empty = the test's
  // When set, stdout and stderr both go to this file (created or appended to),
  // whatever the modes above say: the logs of a long-running child.
  std::string log_file;
  // SIGKILL the child if the thread that started it exits (prctl PDEATHSIG),
  // so a crashed test leaves no broker behind. Start it from a thread that
  // outlives it (the test's main thread).
  bool kill_with_parent = true;
};

// A running child process. The destructor kills (SIGKILL) and reaps it if it
// is still running. Not thread-safe.
class Process {
 public:
  // argv[0] is looked up in PATH when it has no '/'. Fails if it cannot be executed.
  static Result<std::unique_ptr<Process>> Start(const std::vector<std::string>& argv, ProcessOptions options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // The next line of stdout (without '\n'). Unavailable on timeout, NotFound at
  // end of output (a last line without '\n' is still returned).
  Result<std::string> ReadLine(milliseconds timeout);
  // Reads stdout until end of output; Unavailable if the timeout passes first
  // (what was read is then lost).
  Result<std::string> ReadAll(milliseconds timeout);
  // Reads stderr (stderr_mode == kPipe) until end of output.
  Result<std::string> ReadAllStderr(milliseconds timeout);

  // Writes `stdin_data` (pipe_stdin), closes stdin, reads stdout and stderr
  // (those in kPipe mode) until end of output and waits for the exit, all
  // within `timeout`; on timeout the child is killed and Unavailable returned.
  Result<CommandResult> Communicate(std::string_view stdin_data, milliseconds timeout);

  Status WriteStdin(std::string_view data);
  void CloseStdin();

  Status Signal(int sig);
  bool Running();
  // Waits for exit: the exit code, or 128 + signal number if killed by a signal.
  Result<int> Wait(milliseconds timeout);
  // SIGTERM, then SIGKILL if it has not exited within `grace`; the exit status.
  Result<int> Stop(milliseconds grace = milliseconds(10'000));

 private:
  Process() = default;
  Result<std::string> ReadUntilEof(int* fd, std::string* buffer, milliseconds timeout);

  pid_t pid_ = -1;
  std::string name_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_buf_;  // read but not yet returned
  std::string stderr_buf_;
  bool reaped_ = false;
  int exit_status_ = -1;
};

// Runs a command to completion, feeding it `stdin_data`, capturing stdout and
// stderr. Unavailable (and the child killed) if it runs longer than `timeout`.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, std::string_view stdin_data = {},
                                 milliseconds timeout = milliseconds(60'000), std::vector<std::string> env = {});

// Waits until `path` exists and is not empty (written by another process).
Status WaitForFile(const std::string& path, milliseconds timeout);
// Waits until `predicate()` is true, checking every few milliseconds.
template <typename Pred>
bool WaitFor(Pred predicate, milliseconds timeout);

// The whole file; NotFound if it does not exist.
Result<std::string> ReadFile(const std::string& path);

// The names of this process's threads (/proc/self/task/*/comm), one entry a thread.
std::multiset<std::string> ThreadNamesOfThisProcess();
// Waits until this process has a thread named `name`.
bool WaitForThreadNamed(const std::string& name, milliseconds timeout);

// A fresh directory under $TMPDIR (or /tmp), removed with its contents by the
// destructor unless Keep() was called (e.g. a failed test's logs).
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "chaperone-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  // Writes `text` to File(name) and returns that path.
  std::string Write(std::string_view name, std::string_view text) const;
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// The full path of an executable found in PATH, or "" if there is none.
std::string FindExecutable(std::string_view name);
// Splits text into lines (without '\n'); a trailing newline ends the last line.
std::vector<std::string> SplitLines(std::string_view text);

// ---- implementation of the template ----
void SleepBriefly();  // a short pause between polls of a condition
template <typename Pred>
bool WaitFor(Pred predicate, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    SleepBriefly();
  }
}

}  // namespace chaperone::test
