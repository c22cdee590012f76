// The `chaperone.*` settings: one table of the shared settings mechanism
// (common/settings.h, driven by flat properties), from which the plugin's
// on_conf_set, SetAuditClientProperty and the reference table in
// docs/interceptor.md are all derived.
#pragma once

#include <string>
#include <string_view>

#include "chaperone/audit_client.h"
#include "chaperone/status.h"
#include "common/settings.h"

namespace chaperone::interceptor {

inline constexpr std::string_view kSettingPrefix = "chaperone.";

// Everything the plugin reads from a client's configuration.
struct InterceptorSettings {
  AuditClientOptions client;
  bool enable = true;  // plugin only
};

// The table: section "chaperone", keys such as "audit.bootstrap.servers";
// families "timestamp." and "audit.producer.".
const config::Table<InterceptorSettings>& SettingsTable();

// True for names this module owns ("chaperone." prefix).
inline bool IsChaperoneSetting(std::string_view name) { return name.starts_with(kSettingPrefix); }

// Applies one setting. An unknown name under "chaperone." is an error with a
// did-you-mean. Errors are one line, name the setting, and never quote a
// secret value.
Status ApplySetting(InterceptorSettings& s, std::string_view name, std::string_view value);
// Restores the default of `name` (librdkafka's "unset": on_conf_set with a null
// value), or removes a family member.
Status ResetSetting(InterceptorSettings& s, std::string_view name);

// The settings reference, between its markers (docs/interceptor.md).
std::string SettingsMarkdownTable();

}  // namespace chaperone::interceptor
