#include "analysis/names.h"

#include <algorithm>

namespace chaperone::analysis {
namespace {

bool IsValidName(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::none_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F || c == ',';
  });
}

}  // namespace

bool IsValidTierName(std::string_view s) { return IsValidName(s); }
bool IsValidDatacenterName(std::string_view s) { return IsValidName(s); }

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.emplace_back(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace chaperone::analysis
