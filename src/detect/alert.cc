#include "detect/alert.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <array>

#include "common/time_format.h"

namespace chaperone::detect {
namespace {

constexpr std::array<std::string_view, 4> kKindNames = {"loss", "duplicate", "digest_mismatch", "silent"};
constexpr std::array<std::string_view, 3> kSeverityNames = {"info", "warning", "critical"};

template <typename Enum, size_t N>
std::optional<Enum> ParseName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

std::string Plural(int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::string_view AlertKindName(AlertKind kind) { return kKindNames.at(static_cast<size_t>(kind)); }
std::string_view SeverityName(Severity severity) { return kSeverityNames.at(static_cast<size_t>(severity)); }
std::string_view AlertStateName(AlertState state) { return state == AlertState::kFiring ? "firing" : "resolved"; }
std::optional<AlertKind> ParseAlertKind(std::string_view name) { return ParseName<AlertKind>(kKindNames, name); }
std::optional<Severity> ParseSeverity(std::string_view name) { return ParseName<Severity>(kSeverityNames, name); }

std::string FormatRfc3339(int64_t unix_ms) { return common::FormatRfc3339(unix_ms); }

std::string Alert::Fingerprint() const {
  std::string identity;
  for (std::string_view field : {std::string_view(topic), std::string_view(source_tier),
                                 std::string_view(target_tier), AlertKindName(kind), std::string_view(datacenter)}) {
    identity += fmt::format("{}:{};", field.size(), field);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(identity.data(), identity.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (int i = 0; i < 8; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string Alert::Summary() const {
  std::string where = fmt::format("{} on {}: {} → {}", AlertKindName(kind), topic, source_tier, target_tier);
  if (!datacenter.empty()) where += fmt::format(" ({})", datacenter);
  std::string windows = Plural(windows_affected, "window", "windows");
  std::string what;
  switch (kind) {
    case AlertKind::kLoss:
      what = fmt::format("{} lost in {}", Plural(messages_lost, "message", "messages"), windows);
      break;
    case AlertKind::kDuplicate:
      what = fmt::format("{} duplicated in {}", Plural(messages_duplicated, "message", "messages"), windows);
      break;
    case AlertKind::kDigestMismatch:
      what = fmt::format("equal counts but different content in {}", windows);
      break;
    case AlertKind::kSilent:
      what = fmt::format("no messages at all in {}", windows);
      break;
  }
  std::string span = first_window_s == last_window_s
                         ? fmt::format("window {}", FormatRfc3339(first_window_s * 1000))
                         : fmt::format("windows {} .. {}", FormatRfc3339(first_window_s * 1000),
                                       FormatRfc3339(last_window_s * 1000));
  return fmt::format("{} [{}] {}: {} ({})", state == AlertState::kFiring ? "FIRING" : "RESOLVED",
                     SeverityName(severity), where, what, span);
}

}  // namespace chaperone::detect
