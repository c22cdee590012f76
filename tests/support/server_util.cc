#include "support/server_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace chaperone::test {

namespace fs = std::filesystem;

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t n = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

int RunLogged(const std::string& cmd, const std::string& log, const std::string& user) {
  std::string full = user.empty() ? cmd : "runuser -u " + user + " -- " + cmd;
  full += " >>'" + log + "' 2>&1";
  int rc = std::system(full.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string Tail(const std::string& path) {
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return all.size() > 1500 ? all.substr(all.size() - 1500) : all;
}

Status ChownTree(const std::string& path, const std::string& user) {
  struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return Status::Unavailable("no '" + user + "' user: install the database server package");
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (lchown(it->path().c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::Internal("chown " + it->path().string());
  }
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::Internal("chown " + path);
  return Status::Ok();
}

Result<std::string> InitOnce(const std::string& name, const std::string& owner,
                             const std::function<Status(const std::string& dir)>& init) {
  std::string base = "/tmp/chaperone-" + name + "-template-" + std::to_string(getuid());
  std::string done = base + "/.complete";
  int lock = open((base + ".lock").c_str(), O_CREAT | O_RDWR, 0600);
  if (lock < 0) return Status::Internal("cannot open " + base + ".lock");
  flock(lock, LOCK_EX);
  Status result;
  if (!fs::exists(done)) {
    std::error_code ec;
    fs::remove_all(base, ec);
    fs::create_directories(base, ec);
    if (!owner.empty()) result = ChownTree(base, owner);
    if (result.ok()) result = init(base);
    if (result.ok()) std::ofstream(done) << "ok\n";
  }
  flock(lock, LOCK_UN);
  close(lock);
  if (!result.ok()) return result;
  return base;
}

}  // namespace chaperone::test
