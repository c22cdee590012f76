// The names a tier or a datacenter may have, wherever they are given (audit
// records, --tier-order, query parameters), and comma lists of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chaperone::analysis {

// Tier names are free-form in audit records ("consumer:<group>"): 1-255 bytes,
// no control characters and no ','.
bool IsValidTierName(std::string_view s);
// Datacenter names: 1-255 bytes, no control characters and no ','.
bool IsValidDatacenterName(std::string_view s);

// Splits "a,b,c" (empty items rejected by the caller's validator).
std::vector<std::string> SplitList(std::string_view s);

}  // namespace chaperone::analysis
