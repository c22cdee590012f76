// chaperone read: the messages of a topic whose event time is in a range,
// from the offset spans the audit recorded (a thin shell over read::ReadEventTime).
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "common/exit_code.h"
#include "read/output.h"
#include "read/read_config.h"
#include "read/reader.h"
#include "store/store.h"

namespace chaperone::cli {
namespace {

struct ReadArgs {
  std::string topic, from, to, tier, cluster, datacenter, key, format = "json";
  int32_t partition = -1;
  int64_t limit = -1;
  bool measure_fetch = false;
  bool quiet = false;
};

std::string Utc(int64_t sec) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(sec)));
}

// Every failure of a read is "trouble" (common/exit_code.h).
int Trouble(const Status& s) {
  ReportFailure("read", s);
  return common::kExitTrouble;
}

int Run(const SettingsFlags& flags, const ReadArgs& a) {
  auto o = read::LoadReadConfig(flags.config, flags.Given());
  if (!o.ok()) return Trouble(o.status());
  read::ReadRequest req;
  req.topic = a.topic;
  auto from = read::ParseTimeMs(a.from);
  if (!from.ok()) return Trouble(Status::InvalidArgument("--from: " + from.status().message()));
  auto to = read::ParseTimeMs(a.to);
  if (!to.ok()) return Trouble(Status::InvalidArgument("--to: " + to.status().message()));
  req.from_ms = *from;
  req.to_ms = *to;
  req.tier = a.tier;
  if (!a.cluster.empty()) req.cluster = a.cluster;
  if (!a.datacenter.empty()) req.datacenter = a.datacenter;
  if (a.partition >= 0) req.partition = a.partition;
  if (!a.key.empty()) req.key = a.key;
  req.limit = a.limit;
  req.stall_timeout = o->stall_timeout;

  auto store = store::Store::Open(o->store_url, store::OpenMode::kMustExist);
  if (!store.ok()) return Trouble(store.status());
  read::LibrdkafkaClusterReaders readers(o->clusters, a.measure_fetch);

  std::string buf;
  auto flush = [&] {
    if (!buf.empty()) std::fwrite(buf.data(), 1, buf.size(), stdout);
    buf.clear();
  };
  const bool raw = a.format == "raw";
  auto sink = [&](const read::ReadMessage& m) {
    if (raw) read::AppendMessageRaw(m, &buf);
    else read::AppendMessageJson(m, &buf);
    if (buf.size() >= (64u << 10)) flush();
    return true;
  };
  const bool tty = isatty(STDERR_FILENO) != 0;
  bool progress_shown = false;
  auto progress = [&](const read::ReadProgress& p) {
    if (a.quiet) return;
    if (!progress_shown && p.read == 0) return;
    progress_shown = true;
    std::fprintf(stderr, "%sread: %lld messages read (the windows hold %lld as audited), %lld in the range%s", tty ? "\r" : "",
                 static_cast<long long>(p.read), static_cast<long long>(p.audited), static_cast<long long>(p.handed),
                 tty ? "" : "\n");
  };
  auto report = read::ReadEventTime(**store, readers, o->rules, req, sink, progress);
  flush();
  std::fflush(stdout);
  if (progress_shown && tty) std::fputc('\n', stderr);
  if (!report.ok()) return Trouble(report.status());

  int64_t matched = 0, expired = 0, expired_messages = 0;
  bool expired_unknown = false;  // a partly expired span the read stopped in (--limit): its loss is not counted
  for (const read::SpanCheck& c : report->checks) {
    if (c.state == read::SpanState::kComplete) {
      ++matched;
      continue;
    }
    if (c.state == read::SpanState::kExpired || c.state == read::SpanState::kPartlyExpired) {
      ++expired;
      if (c.state == read::SpanState::kPartlyExpired && report->limited) expired_unknown = true;
      else expired_messages += c.audited - c.read;
    }
    if (!a.quiet) {
      std::fprintf(stderr, "read: %s: cluster %s, window %s, partition %d, offsets %lld-%lld: audited %lld, read %lld%s\n",
                   read::SpanStateName(c.state), c.cluster.c_str(), Utc(c.window_begin_sec).c_str(), c.partition,
                   static_cast<long long>(c.first_offset), static_cast<long long>(c.last_offset),
                   static_cast<long long>(c.audited), static_cast<long long>(c.read),
                   c.expired_offsets > 0
                       ? fmt::format(" ({} offsets deleted by retention)", c.expired_offsets).c_str()
                       : "");
    }
  }
  const size_t total = report->checks.size();
  std::fprintf(stderr, "read: %lld messages of %s in [%s, %s) from tier %s, %zu window(s); %lld of %zu spans match the audit%s%s\n",
               static_cast<long long>(report->handed), a.topic.c_str(), a.from.c_str(), a.to.c_str(),
               report->tier.c_str(), report->windows.size(), static_cast<long long>(matched), total,
               expired > 0 ? fmt::format(", {} expired ({}{} messages deleted by retention)", expired,
                                             expired_unknown ? "at least " : "", expired_messages).c_str() : "",
               report->limited ? " (stopped at --limit)" : "");
  if (report->no_time > 0 || report->window_no_time > 0) {
    std::fprintf(stderr, "read: %lld messages read had no event time (the audit windows them by arrival: %lld in these windows)\n",
                 static_cast<long long>(report->no_time), static_cast<long long>(report->window_no_time));
  }
  if (a.measure_fetch) {
    std::fprintf(stderr, "read: fetched %lld bytes from the brokers for %lld bytes (key + value) of matching messages; %lld messages outside the spans\n",
                 static_cast<long long>(report->fetch.bytes_fetched), static_cast<long long>(report->handed_bytes),
                 static_cast<long long>(report->fetch.skipped));
  }
  // --limit leaves spans unread (not-read): only what was found wrong counts.
  const bool differs = std::any_of(report->checks.begin(), report->checks.end(), [](const read::SpanCheck& c) {
    return c.state != read::SpanState::kComplete && c.state != read::SpanState::kNotRead;
  });
  return differs ? common::kExitDiffers : common::kExitOk;
}

}  // namespace

void AddReadCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "read", "Print the messages of a topic whose event time is in [--from, --to), read from the offset spans the "
              "audit recorded, and check them against the audited counts");
  auto flags = AddSettingsFlags(cmd, read::ReadSettingsTable());
  auto a = std::make_shared<ReadArgs>();
  cmd->add_option("--topic", a->topic, "The topic")->required();
  cmd->add_option("--from", a->from, "Start of the event-time range (included): RFC 3339 or Unix epoch s/ms")->required();
  cmd->add_option("--to", a->to, "End of the range (excluded)")->required();
  cmd->add_option("--tier", a->tier, "Tier whose spans are read (default: aggregate, else regional)");
  cmd->add_option("--cluster", a->cluster, "Only this cluster's spans (as the audit names it)");
  cmd->add_option("--datacenter", a->datacenter, "Only this datacenter's spans");
  cmd->add_option("--partition", a->partition, "Only this partition")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--key", a->key, "Print only messages with this key");
  cmd->add_option("--limit", a->limit, "Stop after printing this many messages")->check(CLI::Range(int64_t{0}, INT64_MAX));
  cmd->add_option("--format", a->format, "json (one object per line) or raw (the values, one per line)")
      ->check(CLI::IsMember({"json", "raw"}));
  cmd->add_flag("--measure-fetch", a->measure_fetch, "Also print the bytes fetched from the brokers");
  cmd->add_flag("--quiet", a->quiet, "No progress and no per-span lines on stderr (the summary line stays)");
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
