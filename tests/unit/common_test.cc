// The plumbing every component shares (src/common): listen addresses, Kafka
// topic names, rate-limited logs.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chaperone/clock.h"
#include "common/exit_code.h"
#include "common/listen_address.h"
#include "common/rate_limited_log.h"
#include "common/topic_name.h"

namespace chaperone::common {
namespace {

struct GoodListen {
  std::string input;
  std::string host;
  int port;
};

TEST(ListenAddress, AcceptsHostPortForms) {
  const std::vector<GoodListen> cases = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"127.0.0.1:0", "127.0.0.1", 0},  // 0 picks a free port
      {"web.local:80", "web.local", 80},
      {"localhost:65535", "localhost", 65535},
      {":9000", "0.0.0.0", 9000},  // every IPv4 interface
      {"[::1]:0", "::1", 0},
      {"[::]:9000", "::", 9000},
      {"0.0.0.0:00080", "0.0.0.0", 80},
  };
  for (const auto& c : cases) {
    auto a = ParseListenAddress(c.input);
    ASSERT_TRUE(a.ok()) << c.input << ": " << a.status().ToString();
    EXPECT_EQ(a->host, c.host) << c.input;
    EXPECT_EQ(a->port, c.port) << c.input;
  }
}

TEST(ListenAddress, RejectsBadInputNamingTheSetting) {
  const std::vector<std::string> bad = {
      "",                // empty
      "8080",            // no colon
      "localhost",       // missing port
      "host:",           // empty port
      "host:-1",         // negative
      "host:65536",      // above 65535
      "host:99999999",   // far above (no overflow)
      "host:8o",         // non-numeric
      "host:+80",        // sign
      "host:0x50",       // hex
      " host:80",        // leading whitespace
      "host:80 ",        // trailing whitespace
      "ho st:80",        // inner whitespace
      "host:\t80",       // tab
      "::1:80",          // IPv6 without brackets
      "[::1]80",         // missing colon after ]
      "[::1:9000",       // unbalanced [
      "[]:80",           // empty brackets
      "[::1]:",          // bracketed, missing port
      "h]:80",           // stray bracket
  };
  for (const auto& b : bad) {
    auto a = ParseListenAddress(b, "--metrics-listen");
    ASSERT_FALSE(a.ok()) << "'" << b << "' was accepted";
    EXPECT_EQ(a.status().code(), Status::Code::kInvalidArgument) << b;
    EXPECT_NE(a.status().message().find("--metrics-listen"), std::string::npos) << a.status().message();
    if (!b.empty()) {
      EXPECT_FALSE(ValidateListenAddress(b, EmptyListen::kOff).ok()) << b;
    }
  }
}

TEST(ListenAddress, EmptyMeansOffOnlyWhereTheSettingAllowsIt) {
  EXPECT_TRUE(ValidateListenAddress("", EmptyListen::kOff).ok());
  EXPECT_EQ(ValidateListenAddress("", EmptyListen::kRejected).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(ValidateListenAddress("127.0.0.1:0", EmptyListen::kRejected).ok());
  EXPECT_FALSE(ValidateListenAddress("127.0.0.1:70000", EmptyListen::kOff).ok());
}

TEST(ListenAddress, PrintsIPv6HostsInBrackets) {
  EXPECT_EQ((ListenAddress{"127.0.0.1", 80}).ToString(), "127.0.0.1:80");
  EXPECT_EQ((ListenAddress{"::1", 9000}).ToString(), "[::1]:9000");
  auto round = ParseListenAddress((ListenAddress{"::1", 9000}).ToString());
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->host, "::1");
}

TEST(TopicName, FollowsKafkasRule) {
  const std::vector<std::string> good = {"orders", "Orders.EU_v2-test", "a", "...", ".a", "a..b", "_", "-",
                                         std::string(249, 'a'), "0123456789"};
  for (const auto& t : good) EXPECT_TRUE(ValidateTopicName(t).ok()) << t << ": " << ValidateTopicName(t).message();
  struct Bad {
    std::string topic;
    std::string why;
  };
  const std::vector<Bad> bad = {
      {"", "empty"},
      {std::string(250, 'a'), "249"},
      {".", "'.' and '..'"},
      {"..", "'.' and '..'"},
      {"a b", "[a-zA-Z0-9._-]"},
      {" orders", "[a-zA-Z0-9._-]"},
      {"orders\n", "[a-zA-Z0-9._-]"},
      {"a/b", "[a-zA-Z0-9._-]"},
      {"a:b", "[a-zA-Z0-9._-]"},
      {"orders'; DROP TABLE windows; --", "[a-zA-Z0-9._-]"},
      {"caf\xc3\xa9", "[a-zA-Z0-9._-]"},
      {std::string("a\0b", 3), "[a-zA-Z0-9._-]"},
  };
  for (const auto& b : bad) {
    Status s = ValidateTopicName(b.topic);
    ASSERT_FALSE(s.ok()) << "'" << b.topic << "' was accepted";
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(s.message().find(b.why), std::string::npos) << s.message();
    EXPECT_FALSE(IsValidTopicName(b.topic));
  }
}

TEST(LogRateLimiter, AdmitsOneLinePerIntervalAndCountsTheRest) {
  LogRateLimiter limiter(1'000);
  EXPECT_EQ(limiter.Admit(0), 0);  // the first line, even at time 0
  EXPECT_EQ(limiter.Admit(1), std::nullopt);
  EXPECT_EQ(limiter.Admit(999), std::nullopt);
  EXPECT_EQ(limiter.Admit(1'000), 2);  // says how many were suppressed
  EXPECT_EQ(limiter.Admit(1'500), std::nullopt);
  EXPECT_EQ(limiter.Admit(5'000), 1);
  EXPECT_EQ(limiter.Admit(6'000), 0);
}

TEST(LogRateLimiter, AdmitsExactlyOneOfManyConcurrentLines) {
  LogRateLimiter limiter(1'000'000);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.Admit(100)) admitted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1);
  EXPECT_EQ(limiter.Admit(2'000'000), 7999);  // every other line was counted
}

TEST(RateLimitedLog, WritesOneWarningPerIntervalWithTheSuppressedCount) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger->set_pattern("%l %v");
  spdlog::set_default_logger(logger);

  FakeClock clock;
  RateLimitedLog log("collector");
  log.Warn(clock, "store {} failed", "write");
  clock.AdvanceMs(1);
  log.Warn(clock, "store {} failed", "write");
  log.Warn(clock, "store {} failed", "write");
  clock.AdvanceMs(10'000);
  log.Warn(clock, "store {} failed", "commit");
  spdlog::set_default_logger(previous);

  EXPECT_EQ(out.str(),
            "warning collector: store write failed\n"
            "warning collector: store commit failed (2 similar messages suppressed)\n");
}

TEST(ExitCode, BadConfigurationIsTwoRuntimeFailureIsOneCleanStopIsZero) {
  struct Case {
    Status status;
    int code;
  };
  const std::vector<Case> cases = {
      {Status::Ok(), 0},
      {Status::InvalidArgument("--audit-topic: bad"), 2},
      {Status::InvalidArgument("listen: cannot listen on 127.0.0.1:9000: Address already in use"), 2},
      {Status::NotFound("no such thing"), 1},
      {Status::Unavailable("store: connection refused"), 1},
      {Status::Internal("consumer: fatal error"), 1},
      {Status::Corruption("store: bad page"), 1},
      {Status::AlreadyExists("topic added twice"), 1},
  };
  for (const auto& c : cases) EXPECT_EQ(ExitCode(c.status), c.code) << c.status.ToString();
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitFailure, 1);
  EXPECT_EQ(kExitBadConfig, 2);
}

}  // namespace
}  // namespace chaperone::common
