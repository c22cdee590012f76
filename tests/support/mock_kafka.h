// `chaperone mock-kafka` as a child process, and kcat against it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace chaperone::test {

struct MockKafkaProcess {
  std::unique_ptr<Process> process;  // stopped (SIGKILL) when destroyed
  std::string bootstrap;             // "127.0.0.1:port,..."
};

// Starts CHAPERONE_BIN mock-kafka with `brokers` brokers and `topics`
// ("NAME:PARTITIONS") and waits for its bootstrap address.
Result<MockKafkaProcess> StartMockKafka(int brokers, const std::vector<std::string>& topics,
                                        milliseconds timeout = milliseconds(30'000));

// True if kcat is installed (the component tests that use it need it).
bool HaveKcat();

// Consumes every message of `topic` from the beginning and exits at the end
// (kcat -C -e -q -o beginning), printing each with `format` (kcat -f syntax).
// Returns the output lines.
Result<std::vector<std::string>> KcatConsumeAll(const std::string& bootstrap, const std::string& topic,
                                                const std::string& format = "%s\\n",
                                                milliseconds timeout = milliseconds(60'000));

// Produces one message per line of `lines` to `topic` (kcat -P).
Status KcatProduce(const std::string& bootstrap, const std::string& topic, const std::vector<std::string>& lines,
                   milliseconds timeout = milliseconds(60'000));

}  // namespace chaperone::test
