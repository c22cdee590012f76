#include "analysis/tier_order.h"

#include <algorithm>

#include "analysis/names.h"

namespace chaperone::analysis {
namespace {

const std::vector<std::string>& DefaultPatterns() {
  static const std::vector<std::string> kDefault = {"producer",   "proxy*",    "regional",
                                                    "replicator", "aggregate", "consumer*"};
  return kDefault;
}

}  // namespace

bool MatchesTierPattern(std::string_view pattern, std::string_view tier) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return tier.substr(0, pattern.size()) == pattern;
  }
  return tier == pattern;
}

TierOrder::TierOrder() : patterns_(DefaultPatterns()) {}

TierOrder::TierOrder(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {
  const auto& d = DefaultPatterns();
  patterns_.insert(patterns_.end(), d.begin(), d.end());
}

Result<TierOrder> TierOrder::Parse(std::string_view comma_list) {
  std::vector<std::string> items;
  if (comma_list.empty()) return TierOrder();
  for (auto& item : SplitList(comma_list)) {
    std::string_view name = item;
    if (!name.empty() && name.back() == '*') name.remove_suffix(1);
    if (item.empty() || (!name.empty() && !IsValidTierName(name))) {
      return Status::InvalidArgument("tier order: empty or invalid tier name in '" + std::string(comma_list) + "'");
    }
    if (std::find(items.begin(), items.end(), item) != items.end()) {
      return Status::InvalidArgument("tier order: '" + item + "' is listed twice");
    }
    items.push_back(std::move(item));
  }
  return TierOrder(std::move(items));
}

size_t TierOrder::Rank(std::string_view tier) const {
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (MatchesTierPattern(patterns_[i], tier)) return i;
  }
  return patterns_.size();
}

bool TierOrder::Less(std::string_view a, std::string_view b) const {
  size_t ra = Rank(a), rb = Rank(b);
  if (ra != rb) return ra < rb;
  return a < b;
}

void TierOrder::Sort(std::vector<std::string>& tiers) const {
  std::sort(tiers.begin(), tiers.end(), [this](const std::string& a, const std::string& b) { return Less(a, b); });
}

}  // namespace chaperone::analysis
