#include "analysis/settings.h"

#include "analysis/names.h"
#include "analysis/tier_order.h"

namespace chaperone::analysis {

Status ApplyTierOrder(const config::Value& v, std::vector<std::string>& patterns) {
  std::vector<std::string> items;
  if (v.node.IsScalar()) {
    items = SplitList(v.node.scalar);
  } else {
    SETTING_VALUE(list, config::AsStringList(v));
    items = list;
  }
  std::string joined;
  for (const auto& i : items) joined += (joined.empty() ? "" : ",") + i;
  if (auto t = TierOrder::Parse(joined); !t.ok()) return Status::InvalidArgument(v.where + ": " + t.status().message());
  if (joined.empty()) items.clear();  // "" is the default order, as an empty list
  patterns = std::move(items);
  return Status::Ok();
}

Status ApplyGraceSec(const config::Value& v, int64_t& grace_sec) {
  SETTING_VALUE(x, config::AsSeconds(v, 0, 86400));
  grace_sec = x;
  return Status::Ok();
}

Status ApplyStaleEmitterSec(const config::Value& v, int64_t& stale_emitter_sec) {
  SETTING_VALUE(x, config::AsSeconds(v, 1, 30 * 86400));
  stale_emitter_sec = x;
  return Status::Ok();
}

}  // namespace chaperone::analysis
