// Pipeline order of tiers: which tier comes before which when comparing
// (docs/api.md). The default order is producer, proxy*, regional, replicator,
// aggregate, consumer*, then any other tier alphabetically.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"

namespace chaperone::analysis {

// True when `tier` matches `pattern`: the name itself, or with a trailing '*'
// any name beginning with the rest ("proxy*"; "*" matches every tier).
bool MatchesTierPattern(std::string_view pattern, std::string_view tier);

class TierOrder {
 public:
  // The default order.
  TierOrder();
  // `patterns` ("regional", "proxy*": a trailing '*' matches any suffix) come
  // first, in the given order; unlisted tiers follow in the default order.
  explicit TierOrder(std::vector<std::string> patterns);
  // "a,b,proxy*" (as given to --tier-order); 400-style error on empty items.
  static Result<TierOrder> Parse(std::string_view comma_list);

  // Strict weak order: pattern position, then name.
  bool Less(std::string_view a, std::string_view b) const;
  void Sort(std::vector<std::string>& tiers) const;

  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  size_t Rank(std::string_view tier) const;

  std::vector<std::string> patterns_;  // overrides followed by the defaults
};

}  // namespace chaperone::analysis
