// chaperone-test-alert: writes one alert of the loss detector into a store, as
// the detector writes it (under a lease, Store::SaveAlerts), for end-to-end
// tests of what shows alerts (the dashboard). Prints the alert's id.
//
//   chaperone-test-alert --store URL --topic T --source TIER --target TIER
//       --first WINDOW_START [--last WINDOW_START] [--kind loss] [--state firing]
//       [--severity critical] [--datacenter DC] [--lost N] [--duplicated N]
//       [--source-messages N] [--windows N]
//
// Its lease is its own ("test-alert"), so it does not stand in the way of a
// running detector's.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "detect/alert.h"
#include "store/store.h"

namespace {

int Usage(const char* argv0, const std::string& why) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s --store URL --topic T --source TIER --target TIER --first WINDOW_START "
               "[--last WINDOW_START] [--kind loss|duplicate|digest_mismatch|silent] [--state firing|resolved] "
               "[--severity info|warning|critical] [--datacenter DC] [--lost N] [--duplicated N] "
               "[--source-messages N] [--windows N]\n",
               argv0, why.c_str(), argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace chaperone;  // NOLINT(google-build-using-namespace)
  std::map<std::string, std::string> opt = {{"kind", "loss"},     {"state", "firing"},     {"severity", "critical"},
                                            {"datacenter", ""},    {"lost", "0"},           {"duplicated", "0"},
                                            {"source-messages", "0"}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!a.starts_with("--") || i + 1 >= argc) return Usage(argv[0], "bad argument " + a);
    opt[a.substr(2)] = argv[++i];
  }
  for (const char* required : {"store", "topic", "source", "target", "first"}) {
    if (!opt.contains(required)) return Usage(argv[0], std::string("--") + required + " is required");
  }
  auto kind = detect::ParseAlertKind(opt["kind"]);
  if (!kind) return Usage(argv[0], "unknown kind " + opt["kind"]);
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();

  detect::Alert identity;
  identity.topic = opt["topic"];
  identity.source_tier = opt["source"];
  identity.target_tier = opt["target"];
  identity.kind = *kind;
  identity.datacenter = opt["datacenter"];

  store::AlertRow a;
  a.fingerprint = identity.Fingerprint();
  a.topic = identity.topic;
  a.source_tier = identity.source_tier;
  a.target_tier = identity.target_tier;
  a.kind = opt["kind"];
  a.datacenter = identity.datacenter;
  a.state = opt["state"];
  a.severity = opt["severity"];
  a.starts_ms = now_ms;
  a.ends_ms = a.state == "resolved" ? now_ms : 0;
  a.updated_ms = now_ms;
  try {
    a.first_window_sec = std::stoll(opt["first"]);
    a.last_window_sec = opt.contains("last") ? std::stoll(opt["last"]) : a.first_window_sec;
    a.lost = std::stoll(opt["lost"]);
    a.duplicated = std::stoll(opt["duplicated"]);
    a.source_messages = std::stoll(opt["source-messages"]);
    a.windows = opt.contains("windows") ? std::stoll(opt["windows"]) : a.last_window_sec > a.first_window_sec ? 2 : 1;
  } catch (const std::exception&) {
    return Usage(argv[0], "a number is not a number");
  }

  auto st = store::Store::Open(opt["store"], store::OpenMode::kMustExist);
  if (!st.ok()) {
    std::fprintf(stderr, "chaperone-test-alert: %s\n", st.status().ToString().c_str());
    return 1;
  }
  const std::string lease = "test-alert", owner = "chaperone-test-alert";
  auto held = (*st)->TakeLease(lease, owner, now_ms, 60'000);
  if (!held.ok() || !*held) {
    std::fprintf(stderr, "chaperone-test-alert: cannot take the lease: %s\n",
                 held.ok() ? "held by another" : held.status().ToString().c_str());
    return 1;
  }
  std::vector<store::AlertChange> changes = {{a, {}}};
  Status s = (*st)->SaveAlerts(changes, lease, owner, now_ms);
  if (!s.ok()) {
    std::fprintf(stderr, "chaperone-test-alert: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("%lld\n", static_cast<long long>(changes[0].alert.id));
  return 0;
}
