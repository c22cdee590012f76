#include <gtest/gtest.h>

#include "chaperone/emitter.h"
#include "chaperone/reporter.h"
#include "support/audit_records.h"
#include "support/process.h"

namespace chaperone {
namespace {

TEST(JsonLinesReporter, WritesOneDecodableRecordPerLine) {
  test::TempDir dir;
  std::string path = dir.File("audit.jsonl");
  auto reporter = MakeJsonLinesReporter(path);
  ASSERT_TRUE(reporter.ok()) << reporter.status().ToString();
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  std::vector<AuditRecord> first = {test::MakeCountRecord(emitter, "orders", 600, 10, 2),
                                    test::MakeCountRecord(emitter, "payments", 600, 3)};
  std::vector<AuditRecord> second = {emitter.Heartbeat(1'300'000, 600, 0, 0)};
  ASSERT_TRUE((*reporter)->Send(first, std::chrono::seconds(1)).ok());
  ASSERT_TRUE((*reporter)->Send(second, std::chrono::seconds(1)).ok());

  auto text = test::ReadFile(path);
  ASSERT_TRUE(text.ok());
  auto lines = test::SplitLines(*text);
  ASSERT_EQ(lines.size(), 3u);
  std::vector<AuditRecord> all = first;
  all.push_back(second[0]);
  int64_t bytes = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto r = DecodeAuditRecord(lines[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, all[i]);
    bytes += static_cast<int64_t>(lines[i].size()) + 1;
  }
  ReporterStats s = (*reporter)->stats();
  EXPECT_EQ(s.records_sent, 3);
  EXPECT_EQ(s.records_acked, 3);
  EXPECT_EQ(s.records_failed, 0);
  EXPECT_EQ(s.bytes_sent, bytes);
  EXPECT_EQ(s.bytes_acked, bytes);
}

TEST(JsonLinesReporter, AppendsToAnExistingFile) {
  test::TempDir dir;
  std::string path = dir.File("audit.jsonl");
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  for (int i = 0; i < 2; ++i) {
    auto reporter = MakeJsonLinesReporter(path);
    ASSERT_TRUE(reporter.ok());
    ASSERT_TRUE((*reporter)->Send({test::MakeCountRecord(emitter, "orders", 600, 1)}, std::chrono::seconds(1)).ok());
  }
  EXPECT_EQ(test::SplitLines(*test::ReadFile(path)).size(), 2u);
}

TEST(JsonLinesReporter, RefusesAnInvalidBatchWithoutWritingAnyOfIt) {
  test::TempDir dir;
  std::string path = dir.File("audit.jsonl");
  auto reporter = MakeJsonLinesReporter(path);
  ASSERT_TRUE(reporter.ok());
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  AuditRecord good = test::MakeCountRecord(emitter, "orders", 600, 5);
  AuditRecord bad = test::MakeCountRecord(emitter, "orders", 600, 5);
  bad.count = -5;
  Status s = (*reporter)->Send({good, bad}, std::chrono::seconds(1));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("audit record 2 of 2 (topic 'orders'): field 'count'"), std::string::npos)
      << s.message();
  EXPECT_EQ(test::ReadFile(path).value(), "");
  EXPECT_EQ((*reporter)->stats().records_failed, 2);
  EXPECT_EQ((*reporter)->stats().records_sent, 0);
}

TEST(JsonLinesReporter, ReportsAFileThatCannotBeOpened) {
  auto r = MakeJsonLinesReporter("/nonexistent-dir/sub/audit.jsonl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent-dir/sub/audit.jsonl"), std::string::npos);
  EXPECT_FALSE(MakeJsonLinesReporter("").ok());
}

TEST(JsonLinesReporter, ReportsWriteErrors) {
  auto reporter = MakeJsonLinesReporter("/dev/full");
  ASSERT_TRUE(reporter.ok());
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  Status s = (*reporter)->Send({test::MakeCountRecord(emitter, "orders", 600, 1)}, std::chrono::seconds(1));
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_NE(s.message().find("/dev/full"), std::string::npos) << s.message();
  EXPECT_EQ((*reporter)->stats().records_acked, 0);
  EXPECT_EQ((*reporter)->stats().records_failed, 1);
}

TEST(KafkaReporter, RejectsOptionsThatBreakItsGuarantees) {
  KafkaReporterOptions o;
  o.bootstrap_servers = "127.0.0.1:9";
  o.properties = {{"acks", "1"}};
  auto r = MakeKafkaReporter(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'acks' must be all"), std::string::npos) << r.status().message();

  o.properties = {{"enable.idempotence", "false"}};
  r = MakeKafkaReporter(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'enable.idempotence' must be true"), std::string::npos);

  o.properties = {{"linger.ms", "soon"}};
  r = MakeKafkaReporter(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("kafka property 'linger.ms'"), std::string::npos) << r.status().message();

  o.properties = {};
  o.bootstrap_servers = "";
  r = MakeKafkaReporter(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no bootstrap servers"), std::string::npos);

  o.bootstrap_servers = "127.0.0.1:9";
  o.topic = "";
  EXPECT_FALSE(MakeKafkaReporter(o).ok());
}

}  // namespace
}  // namespace chaperone
