// chaperone store check: the store's schema version against this binary's,
// changing nothing. chaperone store migrate: applies the pending migrations
// (docs/service.md, "Store operations").
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "common/exit_code.h"
#include "common/secrets.h"
#include "config/project_file.h"
#include "store/store.h"

namespace chaperone::cli {
namespace {

constexpr const char* kDefaultStore = "sqlite:./chaperone-data/chaperone.db";

struct StoreArgs {
  std::string url;     // --store
  std::string config;  // --config: its store.url
};

// --store, else the config file's store.url, else the embedded default.
Result<std::string> ResolveUrl(const StoreArgs& a) {
  if (!a.url.empty()) return a.url;
  if (a.config.empty()) return std::string(kDefaultStore);
  auto file = config::LoadProject(a.config);
  if (!file.ok()) return file.status();
  config::Errors errors;
  config::StoreSection s = config::ParseStoreSection(*file, errors);
  if (!errors.empty()) return errors.ToStatus();
  if (s.url.empty()) return Status::InvalidArgument(a.config + ": no store.url (give --store)");
  return s.url;
}

std::string Utc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void Print(const std::string& url, const store::SchemaState& st) {
  std::printf("store: %s (%s)\n", common::RedactUrl(url).c_str(), st.backend.c_str());
  std::printf("schema: version %d, this binary's %d\n", st.current, st.latest);
  for (const auto& m : st.migrations)
    std::printf("  v%-3d %-20s  %s\n", m.version, m.applied_ms >= 0 ? Utc(m.applied_ms).c_str() : "pending",
                m.description.c_str());
}

int Check(const StoreArgs& a) {
  auto url = ResolveUrl(a);
  if (!url.ok()) return ReportFailure("store check", url.status());
  auto st = store::Store::InspectSchema(*url);
  if (!st.ok()) return ReportFailure("store check", st.status());
  Print(*url, *st);
  if (st->current > st->latest) {
    // As every component that opens it: this binary cannot run against it.
    std::printf("the store's schema is newer than this binary's: upgrade chaperone\n");
    return common::kExitBadConfig;
  }
  if (st->current < st->latest) {
    std::printf("%d migration%s pending: run `chaperone store migrate` (the collector also migrates at start)\n",
                st->latest - st->current, st->latest - st->current == 1 ? "" : "s");
    return common::kExitFailure;
  }
  std::printf("ok\n");
  return common::kExitOk;
}

int Migrate(const StoreArgs& a) {
  auto url = ResolveUrl(a);
  if (!url.ok()) return ReportFailure("store migrate", url.status());
  auto before = store::Store::InspectSchema(*url);
  int from = 0;
  if (before.ok()) {
    from = before->current;
  } else if (before.status().code() != Status::Code::kNotFound) {  // NotFound: a SQLite file to create
    return ReportFailure("store migrate", before.status());
  }
  auto opened = store::Store::Open(*url, store::OpenMode::kCreate);
  if (!opened.ok()) return ReportFailure("store migrate", opened.status());
  opened->reset();
  auto after = store::Store::InspectSchema(*url);
  if (!after.ok()) return ReportFailure("store migrate", after.status());
  Print(*url, *after);
  if (after->current == from) {
    std::printf("nothing to migrate: up to date\n");
  } else {
    std::printf("migrated from version %d to %d\n", from, after->current);
  }
  return common::kExitOk;
}

void AddStoreArgs(CLI::App* cmd, StoreArgs& a) {
  cmd->add_option("--store", a.url,
                  "Store URL: sqlite:PATH, postgresql://user:password@host:port/db or mysql://user:password@host:port/db "
                  "(default: store.url of --config, else " + std::string(kDefaultStore) + ")");
  cmd->add_option("--config", a.config, "The project YAML file (its store.url)");
}

}  // namespace

void AddStoreCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("store", "Operate the store: check its schema, apply migrations");
  cmd->require_subcommand(1);
  auto args = std::make_shared<StoreArgs>();
  CLI::App* check = cmd->add_subcommand(
      "check", "Print the store's schema version and migrations, changing nothing; exit 0 when it is this binary's, "
               "1 when migrations are pending or the store cannot be read, 2 for a bad URL or config, or a store "
               "newer than this binary");
  AddStoreArgs(check, *args);
  check->callback([args, exit_code] { *exit_code = Check(*args); });
  CLI::App* migrate = cmd->add_subcommand(
      "migrate", "Apply the pending schema migrations (each in its own transaction, one migrator at a time), then "
                 "print the schema; creates a SQLite store that does not exist");
  AddStoreArgs(migrate, *args);
  migrate->callback([args, exit_code] { *exit_code = Migrate(*args); });
}

}  // namespace chaperone::cli
