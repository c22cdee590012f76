// chaperone mock-kafka: librdkafka's mock cluster as a standalone broker.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "chaperone/mock_cluster.h"
#include "cli/commands.h"
#include "cli/signals.h"
#include "common/exit_code.h"

namespace chaperone::cli {

void AddMockKafkaCommand(CLI::App& app, int* exit_code) {
  struct Opts {
    int brokers = 1;
    std::vector<std::string> topics;
    std::string bootstrap_file;
    int rtt_ms = 0;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "mock-kafka", "Run librdkafka's mock cluster as a standalone Kafka-protocol broker until SIGINT/SIGTERM");
  cmd->add_option("--brokers", opts->brokers, "Number of brokers")->check(CLI::Range(1, 64));
  cmd->add_option("--topic", opts->topics, "Topic to create, NAME:PARTITIONS (repeatable)");
  cmd->add_option("--bootstrap-file", opts->bootstrap_file, "Also write the bootstrap address to this file");
  cmd->add_option("--rtt-ms", opts->rtt_ms,
                  "Delay every broker's responses by this many milliseconds (a simulated network round trip; "
                  "rd_kafka_mock_broker_set_rtt on each broker)")
      ->check(CLI::Range(0, 60000));
  cmd->callback([opts, exit_code] {
    std::vector<MockTopic> topics;
    for (const auto& spec : opts->topics) {
      auto t = ParseMockTopic(spec);
      if (!t.ok()) {
        std::fprintf(stderr, "chaperone mock-kafka: %s\n", t.status().message().c_str());
        *exit_code = common::kExitBadConfig;
        return;
      }
      topics.push_back(*t);
    }
    auto cluster = MockCluster::Start(opts->brokers, topics);
    if (!cluster.ok()) {
      std::fprintf(stderr, "chaperone mock-kafka: %s\n", cluster.status().message().c_str());
      *exit_code = common::ExitCode(cluster.status());
      return;
    }
    if (opts->rtt_ms > 0) {
      for (int id = 1; id <= (*cluster)->broker_count(); ++id) {
        if (Status s = (*cluster)->SetBrokerRttMs(id, opts->rtt_ms); !s.ok()) {
          std::fprintf(stderr, "chaperone mock-kafka: %s\n", s.message().c_str());
          *exit_code = common::ExitCode(s);
          return;
        }
      }
    }
    const std::string& bootstrap = (*cluster)->bootstrap_servers();
    if (!opts->bootstrap_file.empty()) {
      // Write to a temporary name and rename, so readers never see a partial address.
      std::string tmp = opts->bootstrap_file + ".tmp";
      std::ofstream f(tmp);
      f << bootstrap << "\n";
      f.close();
      if (!f || std::rename(tmp.c_str(), opts->bootstrap_file.c_str()) != 0) {
        std::fprintf(stderr, "chaperone mock-kafka: cannot write %s\n", opts->bootstrap_file.c_str());
        *exit_code = common::kExitFailure;
        return;
      }
    }
    std::printf("%s\n", bootstrap.c_str());
    std::fflush(stdout);
    WaitForShutdown();
    std::fprintf(stderr, "chaperone mock-kafka: stopping\n");
    *exit_code = common::kExitOk;
  });
}

}  // namespace chaperone::cli
