// chaperone up: the whole pipeline in one process; with no config, the embedded demo.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "up/pipeline.h"

namespace chaperone::cli {

void AddUpCommand(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string config;
    up::DemoOptions demo;
    bool keep_store = false;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "up", "Run every component in one process. With no --config: the embedded demo (mock cluster, audited "
            "producer and consumer, audit service, collector on SQLite, dashboard)");
  cmd->add_option("--config", opts->config, "YAML config naming the components to run (sections service, collector, web)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", opts->demo.listen, "Demo: web address")->capture_default_str();
  cmd->add_option("--data-dir", opts->demo.data_dir, "Demo: data directory (SQLite store)")->capture_default_str();
  cmd->add_option("--interceptor", opts->demo.interceptor_path,
                  "Demo: path of libchaperone-interceptor.so (default: next to this binary)");
  cmd->add_option("--window-sec", opts->demo.window_sec, "Demo: window size in seconds")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}))
      ->capture_default_str();
  cmd->add_option("--rate", opts->demo.messages_per_sec, "Demo: messages per second per topic")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--topic", opts->demo.topics, "Demo: topics NAME:PARTITIONS (repeatable)");
  cmd->add_flag("--keep-store", opts->keep_store, "Demo: keep the previous run's store instead of starting afresh");
  cmd->callback([opts, exit_code, argv0 = app.get_name()] {
    auto log = [](const std::string& line) {
      std::printf("chaperone up: %s\n", line.c_str());
      std::fflush(stdout);
    };
    Result<std::unique_ptr<up::Pipeline>> pipeline = Status::Internal("not started");
    if (!opts->config.empty()) {
      pipeline = up::StartFromConfig(opts->config, log);
    } else {
      up::DemoOptions demo = opts->demo;
      demo.fresh_store = !opts->keep_store;
      if (demo.interceptor_path.empty()) demo.interceptor_path = up::FindInterceptorPlugin(argv0);
      pipeline = up::StartDemo(demo, log);
    }
    if (!pipeline.ok()) {
      std::fprintf(stderr, "chaperone up: %s\n", pipeline.status().message().c_str());
      *exit_code = common::ExitCode(pipeline.status());
      return;
    }
    log("running; Ctrl-C to stop");
    WaitForShutdown();
    log("stopping");
    Status s = (*pipeline)->Stop();
    if (!s.ok()) {
      std::fprintf(stderr, "chaperone up: %s\n", s.message().c_str());
      *exit_code = common::kExitFailure;
      return;
    }
    log("stopped cleanly");
    *exit_code = common::kExitOk;
  });
}

}  // namespace chaperone::cli
