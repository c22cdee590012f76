// Kafka's topic-name rule, the one check every component applies to a topic
// name it is given (settings, flags, REST paths, query parameters).
#pragma once

#include <string_view>

#include "chaperone/status.h"

namespace chaperone::common {

inline constexpr size_t kMaxTopicNameLength = 249;

// 1 to 249 characters of [a-zA-Z0-9._-], and neither "." nor "..". The error
// says which part of the rule the name breaks (it does not quote the name).
Status ValidateTopicName(std::string_view topic);

inline bool IsValidTopicName(std::string_view topic) { return ValidateTopicName(topic).ok(); }

}  // namespace chaperone::common
