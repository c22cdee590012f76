#include "support/alertmanager_server.h"

#include <httplib.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

#include "support/process.h"
#include "support/server_util.h"

namespace chaperone::test {
namespace {

namespace fs = std::filesystem;

constexpr char kConfig[] = R"(# written by tests/support/alertmanager_server.cc
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
)";

bool Ready(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(std::chrono::milliseconds(500));
  c.set_read_timeout(std::chrono::milliseconds(2000));
  auto r = c.Get("/-/ready");
  return r && r->status == 200;
}

}  // namespace

std::string AlertmanagerServer::FindBinary() {
  if (const char* env = std::getenv("CHAPERONE_ALERTMANAGER_BIN"); env != nullptr && *env != '\0') {
    return FindExecutable(env);
  }
  std::string bin = FindExecutable("prometheus-alertmanager");
  return bin.empty() ? FindExecutable("alertmanager") : bin;
}

Result<std::unique_ptr<AlertmanagerServer>> AlertmanagerServer::Start() {
  std::string bin = FindBinary();
  if (bin.empty()) {
    return Status::NotFound(
        "the Alertmanager binary (prometheus-alertmanager) is not installed: scripts/install-deps.sh --test");
  }
  std::unique_ptr<AlertmanagerServer> s(new AlertmanagerServer());
  char dir[] = "/tmp/chaperone-alertmanager-XXXXXX";
  if (mkdtemp(dir) == nullptr) return Status::Internal("mkdtemp failed");
  s->dir_ = dir;
  std::string config = s->dir_ + "/alertmanager.yml";
  if (FILE* f = std::fopen(config.c_str(), "w"); f != nullptr) {
    std::fputs(kConfig, f);
    std::fclose(f);
  } else {
    return Status::Internal("cannot write " + config);
  }
  Status last = Status::Unavailable("no free port");
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = FreeLoopbackPort();
    if (s->port_ == 0) continue;
    ProcessOptions opts;
    opts.stdout_mode = ProcessOptions::Stream::kNull;
    opts.log_file = s->dir_ + "/alertmanager.log";
    auto p = Process::Start({bin, "--config.file=" + config, "--storage.path=" + s->dir_ + "/data",
                             "--web.listen-address=127.0.0.1:" + std::to_string(s->port_),
                             "--cluster.listen-address=",  // no gossip port: nothing else to collide with
                             "--log.level=info"},
                            opts);
    if (!p.ok()) return p.status();
    s->process_ = std::move(*p);
    Process* proc = s->process_.get();
    const int port = s->port_;
    if (WaitFor([&] { return !proc->Running() || Ready(port); }, milliseconds(30'000)) && proc->Running()) {
      return s;
    }
    last = Status::Unavailable("Alertmanager did not become ready on port " + std::to_string(port) + ": " +
                               Tail(opts.log_file));
    s->process_.reset();  // killed and reaped; a port taken meanwhile: try another
  }
  return last;
}

std::string AlertmanagerServer::Log() const { return Tail(dir_ + "/alertmanager.log"); }

AlertmanagerServer::~AlertmanagerServer() {
  if (process_) process_->Stop(milliseconds(5'000)).status().IgnoreError();  // best effort; the kill follows
  process_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

nlohmann::json AlertmanagerServer::ActiveAlerts() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(std::chrono::milliseconds(5'000));
  auto r = c.Get("/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true");
  if (!r || r->status != 200) return nlohmann::json();
  return nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
}

nlohmann::json AlertmanagerServer::FindActive(const std::string& topic) const {
  nlohmann::json alerts = ActiveAlerts();
  if (!alerts.is_array()) return nlohmann::json();
  for (const auto& a : alerts) {
    if (a.contains("labels") && a["labels"].value("topic", "") == topic) return a;
  }
  return nlohmann::json();
}

}  // namespace chaperone::test
