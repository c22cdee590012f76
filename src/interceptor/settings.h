// The `chaperone.*` settings: one table (name, type, default, description,
// validation) from which the plugin's on_conf_set, SetAuditClientProperty and
// the reference table in docs/interceptor.md are all derived.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "chaperone/audit_client.h"
#include "chaperone/status.h"

namespace chaperone::interceptor {

inline constexpr std::string_view kSettingPrefix = "chaperone.";

// Everything the plugin reads from a client's configuration.
struct InterceptorSettings {
  AuditClientOptions client;
  bool enable = true;  // plugin only
};

struct SettingDef {
  std::string_view name;  // full name; for a family, the common prefix ending in '.'
  std::string_view name_doc;  // as shown in docs, e.g. "chaperone.timestamp.<topic-regex>"
  bool is_prefix;             // a family of names: name + <suffix>
  bool plugin_only;           // not an AuditClientOptions field
  std::string_view type;
  std::string_view default_value;  // raw value that restores the default ("" where empty means default)
  std::string_view default_doc;    // the default as documented
  std::string_view description;
  // `suffix` is the part after `name` for families, empty otherwise. An empty
  // `value` where the default is empty restores the default.
  Status (*set)(InterceptorSettings& s, std::string_view suffix, std::string_view value);
  // Removes a family member (on_conf_set with a null value); null for plain settings.
  void (*erase)(InterceptorSettings& s, std::string_view suffix);
};

std::span<const SettingDef> SettingDefs();

// True for names this module owns ("chaperone." prefix).
inline bool IsChaperoneSetting(std::string_view name) { return name.starts_with(kSettingPrefix); }

// Applies one setting. Unknown names under "chaperone." are an error that
// lists the known names. Errors are one line and name the setting.
Status ApplySetting(InterceptorSettings& s, std::string_view name, std::string_view value);
// Restores the default of `name` (librdkafka's "unset": on_conf_set with a null value).
Status ResetSetting(InterceptorSettings& s, std::string_view name);

// The settings reference as a Markdown table (docs/interceptor.md).
std::string SettingsMarkdownTable();

}  // namespace chaperone::interceptor
