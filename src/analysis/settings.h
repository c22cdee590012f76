// The settings of the components that compare tiers (`web:`, `detect:`),
// declared once so that both read them with one meaning, one range and one
// documentation row: the pipeline order of the tiers and the finality rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chaperone/status.h"
#include "common/settings.h"

namespace chaperone::analysis {

inline constexpr config::SettingDoc kTierOrderDoc{
    "tier_order", "", "list", "producer, proxy\\*, regional, replicator, aggregate, consumer\\*, then A–Z",
    "Pipeline order of the tiers (`proxy*` matches a prefix), as a list or `a,b,c`."};
// A list of tier patterns, or "a,b,c" (TierOrder::Parse's rule); empty (or
// "") is the default order.
Status ApplyTierOrder(const config::Value& v, std::vector<std::string>& patterns);

inline constexpr config::SettingDoc kGraceSecDoc{
    "grace_sec", "", "duration (s)", "`60`",
    "A window is final once every emitter's heartbeat passed its end plus this (0 to 1 d)."};
Status ApplyGraceSec(const config::Value& v, int64_t& grace_sec);

inline constexpr config::SettingDoc kStaleEmitterSecDoc{
    "stale_emitter_sec", "", "duration (s)", "`180`",
    "An emitter silent this long is stale (about 3 flush intervals; 1 s to 30 d)."};
Status ApplyStaleEmitterSec(const config::Value& v, int64_t& stale_emitter_sec);

}  // namespace chaperone::analysis
