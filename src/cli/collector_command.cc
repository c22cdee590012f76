// chaperone collector: a thin shell over collector::Collector.
#include <atomic>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "collector/collector.h"
#include "common/thread_name.h"

namespace chaperone::cli {

void AddCollectorCommand(CLI::App& app, int* exit_code) {
  struct Opts {
    collector::CollectorOptions o;
    std::vector<std::string> x;
    std::string config;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "collector", "Consume the audit topic and apply every audit record exactly once to the store");
  auto* bootstrap = cmd->add_option("--bootstrap-servers", opts->o.bootstrap_servers,
                                    "Kafka bootstrap servers of the cluster holding the audit topic (required)");
  auto* topic = cmd->add_option("--audit-topic", opts->o.audit_topic, "Audit topic")->capture_default_str();
  auto* group = cmd->add_option("--group", opts->o.group, "Consumer group of the collectors")->capture_default_str();
  auto* store = cmd->add_option("--store", opts->o.store_url, "sqlite:PATH or postgresql://user:pass@host/db")
                    ->capture_default_str();
  auto* x = cmd->add_option("-X", opts->x, "librdkafka consumer property key=value (repeatable)");
  auto* metrics = cmd->add_option("--metrics-listen", opts->o.metrics_listen,
                                  "HOST:PORT serving /metrics and /health (port 0: any free port)");
  auto* retention = cmd->add_option("--retention-days", opts->o.retention_days,
                                    "Delete windows older than this many days (0: keep everything)")
                        ->capture_default_str();
  auto* batch_records = cmd->add_option("--batch-records", opts->o.batch_records,
                                        "Apply a batch at this many records")
                            ->capture_default_str();
  auto* batch_ms = cmd->add_option("--batch-ms", opts->o.batch_ms, "...or this many ms after its first record")
                       ->capture_default_str();
  cmd->add_option("--config", opts->config, "YAML file with the same keys (command-line options win)");

  cmd->callback([=] {
    auto fail = [&](const std::string& msg, int code = common::kExitBadConfig) {
      std::fprintf(stderr, "chaperone collector: %s\n", msg.c_str());
      *exit_code = code;
    };
    collector::CollectorOptions o;
    if (!opts->config.empty()) {
      auto loaded = collector::LoadCollectorConfig(opts->config);
      if (!loaded.ok()) return fail(loaded.status().message());
      o = std::move(*loaded);
    }
    // The command line wins over the file.
    const collector::CollectorOptions& cli = opts->o;
    if (bootstrap->count()) o.bootstrap_servers = cli.bootstrap_servers;
    if (topic->count()) o.audit_topic = cli.audit_topic;
    if (group->count()) o.group = cli.group;
    if (store->count()) o.store_url = cli.store_url;
    if (metrics->count()) o.metrics_listen = cli.metrics_listen;
    if (retention->count()) o.retention_days = cli.retention_days;
    if (batch_records->count()) o.batch_records = cli.batch_records;
    if (batch_ms->count()) o.batch_ms = cli.batch_ms;
    if (x->count()) {
      for (const auto& kv : opts->x) {
        if (Status s = collector::ParseKafkaProperty(kv, &o.kafka); !s.ok()) return fail(s.message());
      }
    }
    auto c = collector::Collector::Create(std::move(o));
    if (!c.ok()) return fail(c.status().message(), common::ExitCode(c.status()));

    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    std::thread watcher = NamedThread("cli-signals", [&] {
      while (!done.load()) {
        if (WaitForShutdown(std::chrono::milliseconds(100))) {
          stop = true;
          return;
        }
      }
    });
    Status s = (*c)->Run(stop);
    done = true;
    watcher.join();
    if (!s.ok()) std::fprintf(stderr, "chaperone collector: %s\n", s.message().c_str());
    *exit_code = common::ExitCode(s);
  });
}

}  // namespace chaperone::cli
