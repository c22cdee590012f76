#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

extern char** environ;

namespace chaperone::test {
namespace {

using SteadyClock = std::chrono::steady_clock;

int RemainingMs(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
  if (left < 0) return 0;
  return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Writes to a pipe whose reader has exited must fail with EPIPE, not kill the test.
void IgnoreSigpipeOnce() {
  static const bool done = [] {
    struct sigaction sa = {};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, nullptr);
    return true;
  }();
  (void)done;
}

}  // namespace

void SleepBriefly() { std::this_thread::sleep_for(milliseconds(5)); }

std::string FindExecutable(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    std::string p(name);
    return ::access(p.c_str(), X_OK) == 0 ? p : "";
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + std::string(name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

Result<std::unique_ptr<Process>> Process::Start(const std::vector<std::string>& argv, ProcessOptions options) {
  if (argv.empty()) return Status::InvalidArgument("Process::Start: empty argv");
  IgnoreSigpipeOnce();
  std::string exe = FindExecutable(argv[0]);
  if (exe.empty()) return Status::NotFound(argv[0] + ": no such executable (PATH searched)");

  // Everything the child needs is prepared before fork(): after it, the child
  // of a multi-threaded process may only make async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& extra : options.env) {
      if (std::string_view(extra).substr(0, extra.find('=')) == name) overridden = true;
    }
    if (!overridden) env_strings.emplace_back(entry);
  }
  for (const auto& extra : options.env) env_strings.push_back(extra);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> args;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, exec_err[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err, exec_err}) {
      CloseFd(&p[0]);
      CloseFd(&p[1]);
    }
  };
  using Stream = ProcessOptions::Stream;
  if ((options.pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0) ||
      (options.stdout_mode == Stream::kPipe && ::pipe2(out, O_CLOEXEC) != 0) ||
      (options.stderr_mode == Stream::kPipe && ::pipe2(err, O_CLOEXEC) != 0) || ::pipe2(exec_err, O_CLOEXEC) != 0) {
    Status s = Status::Internal(Errno("pipe"));
    close_all();
    return s;
  }
  const pid_t parent = ::getpid();
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();

  pid_t pid = ::fork();
  if (pid < 0) {
    Status s = Status::Internal(Errno("fork"));
    close_all();
    return s;
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    auto fail = [&](int e) {
      ssize_t n = ::write(exec_err[1], &e, sizeof e);
      (void)n;
      ::_exit(127);
    };
    if (options.kill_with_parent) {
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(errno);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    auto redirect = [&](Stream mode, int pipe_end, int target, int flags) {
      if (mode == Stream::kPipe) {
        if (::dup2(pipe_end, target) < 0) fail(errno);
      } else if (mode == Stream::kNull) {
        int fd = ::open("/dev/null", flags);
        if (fd < 0 || ::dup2(fd, target) < 0) fail(errno);
        ::close(fd);
      }
    };
    redirect(options.pipe_stdin ? Stream::kPipe : Stream::kNull, in[0], STDIN_FILENO, O_RDONLY);
    if (!options.log_file.empty()) {
      int fd = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0 || ::dup2(fd, STDERR_FILENO) < 0) fail(errno);
      ::close(fd);
    } else {
      redirect(options.stdout_mode, out[1], STDOUT_FILENO, O_WRONLY);
      redirect(options.stderr_mode, err[1], STDERR_FILENO, O_WRONLY);
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) fail(errno);
    ::execve(exe.c_str(), args.data(), envp.data());
    fail(errno);
  }

  // Parent.
  CloseFd(&in[0]);
  CloseFd(&out[1]);
  CloseFd(&err[1]);
  CloseFd(&exec_err[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_err[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  CloseFd(&exec_err[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    close_all();
    return Status::Internal("cannot start " + exe + ": " + std::strerror(child_errno));
  }

  std::unique_ptr<Process> p(new Process());
  p->pid_ = pid;
  p->name_ = argv[0];
  p->stdin_fd_ = in[1];
  p->stdout_fd_ = out[0];
  p->stderr_fd_ = err[0];
  return p;
}

Process::~Process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  CloseFd(&stdin_fd_);
  CloseFd(&stdout_fd_);
  CloseFd(&stderr_fd_);
}

Result<std::string> Process::ReadLine(milliseconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (auto nl = stdout_buf_.find('\n'); nl != std::string::npos) {
      std::string line = stdout_buf_.substr(0, nl);
      stdout_buf_.erase(0, nl + 1);
      return line;
    }
    if (stdout_fd_ < 0) {
      if (!stdout_buf_.empty()) return std::exchange(stdout_buf_, std::string());
      return Status::NotFound(name_ + ": end of output");
    }
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int r = ::poll(&pfd, 1, RemainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Internal(Errno("poll"));
    if (r == 0) return Status::Unavailable(name_ + ": no line of output within " + std::to_string(timeout.count()) + " ms");
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      CloseFd(&stdout_fd_);
      continue;
    }
    stdout_buf_.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> Process::ReadUntilEof(int* fd, std::string* buffer, milliseconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  while (*fd >= 0) {
    pollfd pfd{*fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, RemainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Internal(Errno("poll"));
    if (r == 0) return Status::Unavailable(name_ + ": output did not end within " + std::to_string(timeout.count()) + " ms");
    char buf[65536];
    ssize_t n = ::read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      CloseFd(fd);
      break;
    }
    buffer->append(buf, static_cast<size_t>(n));
  }
  return std::exchange(*buffer, std::string());
}

Result<std::string> Process::ReadAll(milliseconds timeout) { return ReadUntilEof(&stdout_fd_, &stdout_buf_, timeout); }

Result<std::string> Process::ReadAllStderr(milliseconds timeout) {
  return ReadUntilEof(&stderr_fd_, &stderr_buf_, timeout);
}

Result<CommandResult> Process::Communicate(std::string_view stdin_data, milliseconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  if (stdin_fd_ < 0 && !stdin_data.empty()) return Status::InvalidArgument(name_ + ": stdin is not a pipe");
  size_t written = 0;
  if (stdin_fd_ >= 0 && stdin_data.empty()) CloseFd(&stdin_fd_);
  while (stdin_fd_ >= 0 || stdout_fd_ >= 0 || stderr_fd_ >= 0) {
    pollfd fds[3];
    int* owners[3];
    nfds_t n = 0;
    if (stdin_fd_ >= 0) {
      fds[n] = {stdin_fd_, POLLOUT, 0};
      owners[n++] = &stdin_fd_;
    }
    if (stdout_fd_ >= 0) {
      fds[n] = {stdout_fd_, POLLIN, 0};
      owners[n++] = &stdout_fd_;
    }
    if (stderr_fd_ >= 0) {
      fds[n] = {stderr_fd_, POLLIN, 0};
      owners[n++] = &stderr_fd_;
    }
    int r = ::poll(fds, n, RemainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::Internal(Errno("poll"));
    if (r == 0) {
      // Killed and reaped on the way out: the timeout is what the caller learns.
      Signal(SIGKILL).IgnoreError();
      Wait(milliseconds(10'000)).status().IgnoreError();
      return Status::Unavailable(name_ + ": did not finish within " + std::to_string(timeout.count()) + " ms");
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      int* fd = owners[i];
      if (fd == &stdin_fd_) {
        ssize_t w = ::write(*fd, stdin_data.data() + written, stdin_data.size() - written);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          CloseFd(fd);  // the child closed its stdin: nothing more to give it
          continue;
        }
        written += static_cast<size_t>(w);
        if (written == stdin_data.size()) CloseFd(fd);
      } else {
        char buf[65536];
        ssize_t got = ::read(*fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          CloseFd(fd);
          continue;
        }
        (fd == &stdout_fd_ ? stdout_buf_ : stderr_buf_).append(buf, static_cast<size_t>(got));
      }
    }
  }
  // The output has ended; the exit itself follows closely (a little slack past the deadline).
  auto code = Wait(milliseconds(std::max(RemainingMs(deadline), 5000)));
  if (!code.ok()) {
    Signal(SIGKILL).IgnoreError();
    Wait(milliseconds(10'000)).status().IgnoreError();
    return code.status();
  }
  CommandResult result;
  result.exit_code = *code;
  result.out = std::exchange(stdout_buf_, std::string());
  result.err = std::exchange(stderr_buf_, std::string());
  return result;
}

Status Process::WriteStdin(std::string_view data) {
  if (stdin_fd_ < 0) return Status::InvalidArgument(name_ + ": stdin is not an open pipe");
  while (!data.empty()) {
    ssize_t w = ::write(stdin_fd_, data.data(), data.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::Unavailable(Errno(name_ + ": write stdin"));
    data.remove_prefix(static_cast<size_t>(w));
  }
  return Status::Ok();
}

void Process::CloseStdin() { CloseFd(&stdin_fd_); }

Status Process::Signal(int sig) {
  if (reaped_) return Status::NotFound(name_ + " has exited");
  if (::kill(pid_, sig) != 0) return Status::Internal(Errno("kill"));
  return Status::Ok();
}

bool Process::Running() {
  if (reaped_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_status_ = DecodeWaitStatus(status);
    return false;
  }
  return true;
}

Result<int> Process::Wait(milliseconds timeout) {
  if (WaitFor([this] { return !Running(); }, timeout)) return exit_status_;
  return Status::Unavailable(name_ + ": still running after " + std::to_string(timeout.count()) + " ms");
}

Result<int> Process::Stop(milliseconds grace) {
  if (!reaped_) Signal(SIGTERM).IgnoreError();  // an exited child: Wait tells
  auto code = Wait(grace);
  if (code.ok()) return code;
  Signal(SIGKILL).IgnoreError();
  return Wait(milliseconds(10'000));
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, std::string_view stdin_data,
                                 milliseconds timeout, std::vector<std::string> env) {
  ProcessOptions options;
  options.stdout_mode = ProcessOptions::Stream::kPipe;
  options.stderr_mode = ProcessOptions::Stream::kPipe;
  options.pipe_stdin = !stdin_data.empty();
  options.env = std::move(env);
  auto p = Process::Start(argv, options);
  if (!p.ok()) return p.status();
  return (*p)->Communicate(stdin_data, timeout);
}

Status WaitForFile(const std::string& path, milliseconds timeout) {
  auto ready = [&] {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
  };
  if (WaitFor(ready, timeout)) return Status::Ok();
  return Status::Unavailable(path + ": not written within " + std::to_string(timeout.count()) + " ms");
}

std::multiset<std::string> ThreadNamesOfThisProcess() {
  std::multiset<std::string> names;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}

bool WaitForThreadNamed(const std::string& name, milliseconds timeout) {
  return WaitFor([&] { return ThreadNamesOfThisProcess().count(name) > 0; }, timeout);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound(path + ": cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TempDir::TempDir(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();  // tests cannot go on without a scratch directory
  path_ = pattern;
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(std::string_view name, std::string_view text) const {
  std::string file = File(name);
  std::ofstream(file) << text;
  return file;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.emplace_back(text);
      break;
    }
    lines.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace chaperone::test
