// The configuration of `chaperone read` and `chaperone diff`: the `read:`
// section of the project YAML file, read through one settings table
// (common/settings.h) that also gives the flags, `--config-reference` and the
// generated reference in docs/configuration.md.
//
//   clusters: {dc1-regional: {bootstrap.servers: ...}, aggregate: {...}}
//   store: {url: postgresql://...}
//   read:
//     timestamps: [{topic: "orders", chain: "json:eventTime,record"}]
//     memory_budget: 256MiB
//
// The clusters read are those the audit names, looked up in `clusters:`
// (`--cluster-bootstrap NAME=HOST:PORT` adds or overrides one, `-X` sets a
// librdkafka property of every one). The event-time chains are `read.timestamps`,
// else the `service:` section's, so that a read windows messages as the audit did.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "chaperone/event_time.h"
#include "chaperone/status.h"
#include "common/settings.h"
#include "config/project_file.h"

namespace chaperone::read {

struct ReadOptions {
  std::string store_url;
  config::Clusters clusters;                     // name -> properties, -X applied
  std::vector<config::TimestampRule> timestamps;  // as configured
  TimestampRules rules;                           // compiled from `timestamps`
  std::chrono::milliseconds stall_timeout{30'000};
  int64_t memory_budget = int64_t{256} << 20;  // diff: bytes of digests kept in memory before spilling
  std::string spill_dir;                      // diff: "" = $TMPDIR or /tmp
};

// The `read:`, `store:` and `clusters:` sections (and `service.timestamps`),
// then `flags` (flags win). Errors are InvalidArgument, one line each.
Result<ReadOptions> ParseReadConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags = {});
Result<ReadOptions> LoadReadConfig(const std::string& path, const std::vector<config::FlagValue>& flags = {});

const config::TableBase& ReadSettingsTable();
std::string ReadConfigReference();

}  // namespace chaperone::read
