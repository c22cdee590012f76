// Turns one audit-topic message into a store::Incoming: a decoded, validated
// record, or the reason it goes to quarantine.
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"

namespace chaperone::collector {

// `source` is "topic/partition@offset".
store::Incoming DecodeMessage(std::string_view payload, std::string source);

}  // namespace chaperone::collector
