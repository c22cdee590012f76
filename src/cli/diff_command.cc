// chaperone diff: which messages of one window are missing from a target tier
// or duplicated there (a thin shell over read::DiffWindow). Exits 0 when
// nothing differs, 1 when something does, 2 on trouble (common/exit_code.h).
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "common/exit_code.h"
#include "read/diff.h"
#include "read/output.h"
#include "read/read_config.h"
#include "store/store.h"

namespace chaperone::cli {
namespace {

struct DiffArgs {
  std::string topic, window, source, target, datacenter;
  int64_t limit = 1000;
  bool no_messages = false;
};

int Trouble(const Status& s) {
  ReportFailure("diff", s);
  return common::kExitTrouble;
}

std::string SideLine(const read::DiffSide& s) {
  int64_t differing = 0;
  for (const auto& c : s.checks) differing += c.state == read::SpanState::kComplete ? 0 : 1;
  return fmt::format("{} {} messages (audited {}{})", s.tier, s.messages, s.audited,
                     differing ? fmt::format(", {} of {} spans do not match the audit", differing, s.checks.size())
                               : std::string());
}

int Run(const SettingsFlags& flags, const DiffArgs& a) {
  auto o = read::LoadReadConfig(flags.config, flags.Given());
  if (!o.ok()) return Trouble(o.status());
  auto at = read::ParseTimeMs(a.window);
  if (!at.ok()) return Trouble(Status::InvalidArgument("--window: " + at.status().message()));
  read::DiffRequest req;
  req.topic = a.topic;
  req.window_ms = *at;
  req.source_tier = a.source;
  req.target_tier = a.target;
  if (!a.datacenter.empty()) req.datacenter = a.datacenter;
  req.limit = a.limit;
  req.with_messages = !a.no_messages;
  req.memory_budget = o->memory_budget;
  req.spill_dir = o->spill_dir;
  req.stall_timeout = o->stall_timeout;
  auto store = store::Store::Open(o->store_url, store::OpenMode::kMustExist);
  if (!store.ok()) return Trouble(store.status());
  read::LibrdkafkaClusterReaders readers(o->clusters);
  std::string buf;
  auto report = read::DiffWindow(**store, readers, o->rules, req, [&](const read::DiffItem& it) {
    read::AppendDiffItemJson(it, &buf);
    if (buf.size() >= (64u << 10)) {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
      buf.clear();
    }
  });
  std::fwrite(buf.data(), 1, buf.size(), stdout);
  std::fflush(stdout);
  if (!report.ok()) return Trouble(report.status());
  const auto& r = *report;
  std::fprintf(stderr, "diff: %s window %s (%llds): source %s; target %s\n", a.topic.c_str(),
               fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(r.window_begin_sec))).c_str(),
               static_cast<long long>(r.window_sec), SideLine(r.source).c_str(), SideLine(r.target).c_str());
  std::fprintf(stderr, "diff: %lld missing from %s, %lld duplicated there, %lld only there%s\n",
               static_cast<long long>(r.missing), r.target.tier.c_str(), static_cast<long long>(r.duplicated),
               static_cast<long long>(r.extra),
               r.truncated ? fmt::format(" ({} differing messages listed of {}: --limit)", a.limit, r.items).c_str() : "");
  if (r.diff.runs_spilled > 0) {
    std::fprintf(stderr, "diff: spilled %lld bytes in %lld runs past the memory budget\n",
                 static_cast<long long>(r.diff.bytes_spilled), static_cast<long long>(r.diff.runs_spilled));
  }
  if (!r.Differs() && !(r.source.Complete() && r.target.Complete())) {
    // Nothing differs among what could be read, but the logs do not hold
    // what the audit counted: the comparison cannot say "nothing differs".
    std::fprintf(stderr, "diff: the spans read do not match the audit (see above): the comparison is incomplete\n");
    return common::kExitDiffers;
  }
  return r.Differs() ? common::kExitDiffers : common::kExitOk;
}

}  // namespace

void AddDiffCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "diff", "List the messages of one window missing from a target tier or duplicated there (exit 0: nothing "
              "differs, 1: something does, 2: trouble)");
  auto flags = AddSettingsFlags(cmd, read::ReadSettingsTable());
  auto a = std::make_shared<DiffArgs>();
  cmd->add_option("--topic", a->topic, "The topic")->required();
  cmd->add_option("--window", a->window, "Any time in the window: RFC 3339 or Unix epoch s/ms")->required();
  cmd->add_option("--source", a->source, "The source tier (its datacenters summed), e.g. regional")->required();
  cmd->add_option("--target", a->target, "The target tier, e.g. aggregate")->required();
  cmd->add_option("--datacenter", a->datacenter, "Compare only this datacenter's spans");
  cmd->add_option("--limit", a->limit, "List at most this many differing messages (the counts stay exact)")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  cmd->add_flag("--no-messages", a->no_messages, "List locations only: do not read the differing messages again");
  cmd->callback([flags, a, exit_code] {
    if (flags->reference) {
      std::fputs(read::ReadConfigReference().c_str(), stdout);
      *exit_code = common::kExitOk;
      return;
    }
    *exit_code = Run(*flags, *a);
  });
}

}  // namespace chaperone::cli
