#include "support/mock_kafka.h"

namespace chaperone::test {

Result<MockKafkaProcess> StartMockKafka(int brokers, const std::vector<std::string>& topics, milliseconds timeout) {
  std::vector<std::string> argv = {CHAPERONE_BIN, "mock-kafka", "--brokers", std::to_string(brokers)};
  for (const auto& t : topics) {
    argv.push_back("--topic");
    argv.push_back(t);
  }
  auto p = Process::Start(argv);
  if (!p.ok()) return p.status();
  auto line = (*p)->ReadLine(timeout);
  if (!line.ok()) return Status::Unavailable("chaperone mock-kafka printed no bootstrap address: " + line.status().message());
  if (line->find("127.0.0.1:") != 0) return Status::Internal("chaperone mock-kafka printed '" + *line + "'");
  return MockKafkaProcess{std::move(*p), *line};
}

bool HaveKcat() { return !FindExecutable("kcat").empty(); }

Result<std::vector<std::string>> KcatConsumeAll(const std::string& bootstrap, const std::string& topic,
                                                const std::string& format, milliseconds timeout) {
  auto r = RunCommand({"kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", format}, {},
                      timeout);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0)
    return Status::Internal("kcat -C exited with " + std::to_string(r->exit_code) + ": " + r->err);
  return SplitLines(r->out);
}

Status KcatProduce(const std::string& bootstrap, const std::string& topic, const std::vector<std::string>& lines,
                   milliseconds timeout) {
  std::string input;
  for (const auto& l : lines) input += l + "\n";
  auto r = RunCommand({"kcat", "-P", "-b", bootstrap, "-t", topic}, input, timeout);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Status::Internal("kcat -P exited with " + std::to_string(r->exit_code) + ": " + r->err);
  return Status::Ok();
}

}  // namespace chaperone::test
