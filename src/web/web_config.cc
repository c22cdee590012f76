#include "web/web_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "common/listen_address.h"
#include "web/params.h"
#include "web/tier_order.h"

namespace chaperone::web {
namespace {

Status Apply(const YAML::Node& root, WebServerOptions& o, const std::string& origin) {
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return Status::InvalidArgument(origin + ": expected a mapping at the top level");
  const bool in_section = static_cast<bool>(root["web"]);
  YAML::Node node = in_section ? root["web"] : root;
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return Status::InvalidArgument(origin + ": 'web' must be a mapping");
  const std::string prefix = in_section ? "web." : "";
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument(origin + ": " + prefix + key + ": " + why);
    };
    auto integer = [&](int64_t min, int64_t max, int64_t& out) -> Status {
      if (!v.IsScalar()) return bad("expected an integer");
      auto n = ParseInt(v.Scalar(), min, max);
      if (!n.ok()) return bad(n.status().message());
      out = *n;
      return Status::Ok();
    };
    Status s;
    if (key == "listen") {
      if (!v.IsScalar()) return bad("expected HOST:PORT");
      o.listen = v.Scalar();
      if (auto l = common::ParseListenAddress(o.listen); !l.ok()) return bad(l.status().message());
    } else if (key == "store") {
      if (!v.IsScalar() || v.Scalar().empty()) return bad("expected a store URL");
      o.store_url = v.Scalar();
    } else if (key == "tier-order") {
      std::vector<std::string> items;
      if (v.IsSequence()) {
        for (const auto& item : v) {
          if (!item.IsScalar()) return bad("expected a list of tier names");
          items.push_back(item.Scalar());
        }
      } else if (v.IsScalar()) {
        items = SplitList(v.Scalar());
      } else {
        return bad("expected a list of tier names");
      }
      std::string joined;
      for (const auto& i : items) joined += (joined.empty() ? "" : ",") + i;
      if (auto t = TierOrder::Parse(joined); !t.ok()) return bad(t.status().message());
      o.tier_order = std::move(items);
    } else if (key == "delay-threshold-ms") {
      s = integer(0, int64_t{1} << 40, o.delay_threshold_ms);
    } else if (key == "grace-sec") {
      s = integer(0, 86400, o.grace_sec);
    } else if (key == "stale-emitter-sec") {
      s = integer(1, 30 * 86400, o.stale_emitter_sec);
    } else if (key == "window-sec") {
      s = integer(1, 86400, o.window_sec);
    } else if (key == "threads") {
      int64_t t = o.threads;
      s = integer(1, 256, t);
      o.threads = static_cast<int>(t);
    } else {
      return Status::InvalidArgument(origin + ": unknown key '" + prefix + key + "'");
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Status ParseWebConfig(std::string_view yaml, WebServerOptions& options, const std::string& origin) {
  try {
    return Apply(YAML::Load(std::string(yaml)), options, origin);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(origin + ": " + e.what());
  }
}

Status LoadWebConfig(const std::string& path, WebServerOptions& options) {
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument("--config: cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ParseWebConfig(ss.str(), options, "--config " + path);
}

}  // namespace chaperone::web
