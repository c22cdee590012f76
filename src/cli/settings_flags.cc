#include "cli/settings_flags.h"

#include <cstdio>

#include "common/exit_code.h"

namespace chaperone::cli {

std::vector<config::FlagValue> SettingsFlags::Given() const {
  std::vector<config::FlagValue> out;
  for (size_t i = 0; i < specs.size(); ++i)
    for (const auto& v : values[i]) out.push_back({specs[i].name, v});
  return out;
}

std::shared_ptr<SettingsFlags> AddSettingsFlags(CLI::App* cmd, const config::TableBase& table) {
  auto f = std::make_shared<SettingsFlags>();
  cmd->add_option("--config", f->config,
                  "The project YAML file (sections `clusters`, `store`, `" + table.section() +
                      "`; docs/configuration.md). Flags override it");
  cmd->add_flag("--config-reference", f->reference, "Print the reference of every setting (Markdown) and exit");
  f->specs = table.Flags();
  f->values.resize(f->specs.size());
  for (size_t i = 0; i < f->specs.size(); ++i) {
    const config::FlagSpec& spec = f->specs[i];
    std::string name = "--" + spec.name;
    if (!spec.short_name.empty()) name = "-" + spec.short_name + "," + name;
    if (spec.is_switch) {
      std::weak_ptr<SettingsFlags> weak = f;
      cmd->add_flag_callback(name, [weak, i] {
        if (auto flags = weak.lock()) flags->values[i].push_back("true");
      }, spec.help);
      continue;
    }
    CLI::Option* o = cmd->add_option(name, f->values[i], spec.help);
    if (spec.repeatable) {
      o->take_all()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    } else {
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)->expected(1);
    }
  }
  return f;
}

int ReportFailure(const std::string& cmd, const Status& status) {
  const std::string& m = status.message();
  size_t start = 0;
  while (start < m.size()) {
    size_t nl = m.find('\n', start);
    std::string line = m.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    std::fprintf(stderr, "chaperone %s: %s\n", cmd.c_str(), line.c_str());
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  if (m.empty()) std::fprintf(stderr, "chaperone %s: failed\n", cmd.c_str());
  return common::ExitCode(status);
}

}  // namespace chaperone::cli
