// chaperone config check FILE: validates every section of the project file at
// once, naming file:line and a "did you mean" for each error.
// chaperone config reference: the reference of every section (docs/configuration.md).
#include <cstdio>
#include <set>
#include <string>

#include "cli/commands.h"
#include "collector/collector_config.h"
#include "common/exit_code.h"
#include "common/secrets.h"
#include "config/project_file.h"
#include "detect/detect_config.h"
#include "read/read_config.h"
#include "replicate/replicate_config.h"
#include "service/service_config.h"
#include "up/up_config.h"
#include "web/web_config.h"

namespace chaperone::cli {
namespace {

int Check(const std::string& path) {
  auto file = config::LoadProject(path);
  if (!file.ok()) {
    config::Errors e;
    e.Add(file.status());
    for (const auto& line : e.lines()) std::printf("%s\n", line.c_str());
    std::printf("%s: %zu error%s\n", path.c_str(), e.lines().size(), e.lines().size() == 1 ? "" : "s");
    return common::kExitBadConfig;
  }
  config::Errors errors;
  std::vector<std::string> summary;
  config::Clusters clusters = config::ParseClusters(*file, errors);
  for (const auto& [name, props] : clusters) {
    std::string line = "clusters." + name + ":";
    for (const auto& [k, v] : props) line += " " + k + "=" + common::RedactProperty(k, v);
    summary.push_back(line);
  }
  config::StoreSection store = config::ParseStoreSection(*file, errors);
  if (!store.url.empty()) summary.push_back("store.url: " + common::RedactUrl(store.url));
  // Each component parses `clusters:` and `store:` again: report their errors once.
  config::Errors component_errors;
  if (file->Has("service")) {
    auto s = service::ParseServiceConfig(*file);
    if (!s.ok()) component_errors.Add(s.status());
    else summary.push_back("service: tier " + s->tier + " on cluster " + s->cluster_name);
  }
  if (file->Has("collector")) {
    auto c = collector::ParseCollectorConfig(*file);
    if (!c.ok()) component_errors.Add(c.status());
    else summary.push_back("collector: cluster " + c->cluster_name + ", topic " + c->audit_topic + " -> " +
                           common::RedactUrl(c->store_url));
  }
  if (file->Has("web")) {
    web::WebServerOptions base;
    base.store_mode = store::OpenMode::kCreate;
    auto w = web::ParseWebConfig(*file, {}, base);
    if (!w.ok()) component_errors.Add(w.status());
    else summary.push_back("web: " + w->listen + " over " + common::RedactUrl(w->store_url));
  }
  if (file->Has("replicate")) {
    auto r = replicate::ParseReplicateConfig(*file);
    if (!r.ok()) component_errors.Add(r.status());
    else summary.push_back("replicate: " + r->source_cluster + " -> " + r->destination_cluster + ", tier " + r->tier);
  }
  if (file->Has("detect")) {
    auto d = detect::ParseDetectConfig(*file);
    if (!d.ok()) {
      component_errors.Add(d.status());
    } else {
      summary.push_back("detect: " + d->listen + " over " + common::RedactUrl(d->store_url) + ", " +
                        std::to_string(d->rules.size()) + " rule(s), " +
                        std::to_string((d->alertmanager ? 1 : 0) + d->webhooks.size() + d->slack.size()) +
                        " receiver(s)");
    }
  }
  if (file->Has("up")) {
    auto u = up::ParseUpConfig(*file);
    if (!u.ok()) component_errors.Add(u.status());
    else summary.push_back("up: ok");
  }
  if (file->Has("read")) {
    auto r = read::ParseReadConfig(*file);
    if (!r.ok()) component_errors.Add(r.status());
    else summary.push_back("read: over " + common::RedactUrl(r->store_url) + ", " + std::to_string(r->timestamps.size()) +
                           " timestamp rule(s)");
  }
  std::set<std::string> seen(errors.lines().begin(), errors.lines().end());
  for (const auto& line : component_errors.lines())
    if (seen.insert(line).second) errors.Add(line);
  if (!errors.empty()) {
    for (const auto& line : errors.lines()) std::printf("%s\n", line.c_str());
    std::printf("%s: %zu error%s\n", path.c_str(), errors.lines().size(), errors.lines().size() == 1 ? "" : "s");
    return common::kExitBadConfig;
  }
  for (const auto& line : summary) std::printf("  %s\n", line.c_str());
  std::printf("%s: ok\n", path.c_str());
  return common::kExitOk;
}

}  // namespace

void AddConfigCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("config", "Check the project YAML file; print the settings reference");
  cmd->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  CLI::App* check = cmd->add_subcommand(
      "check", "Validate every section of FILE at once: each error with file:line and a \"did you mean\"; exit 2 on "
               "errors (secrets are never printed)");
  check->add_option("FILE", *path, "The project YAML file")->required();
  check->callback([path, exit_code] { *exit_code = Check(*path); });
  CLI::App* reference = cmd->add_subcommand("reference", "Print the reference of every section (Markdown)");
  reference->callback([exit_code] {
    std::fputs(config::SharedSectionsReference().c_str(), stdout);
    std::fputs(config::StoreTable().Reference().c_str(), stdout);
    std::fputs(service::ServiceConfigReference().c_str(), stdout);
    std::fputs(collector::CollectorConfigReference().c_str(), stdout);
    std::fputs(web::WebConfigReference().c_str(), stdout);
    std::fputs(up::UpConfigReference().c_str(), stdout);
    std::fputs(replicate::ReplicateConfigReference().c_str(), stdout);
    std::fputs(detect::DetectConfigReference().c_str(), stdout);
    std::fputs(read::ReadConfigReference().c_str(), stdout);
    *exit_code = common::kExitOk;
  });
}

}  // namespace chaperone::cli
