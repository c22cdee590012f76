// The SpanReader seam over librdkafka (lib/kafka/span_reader.h) against
// librdkafka's mock cluster: exactly the offsets of the spans, in order per
// partition, over gaps and past the end of the log; little fetched past a
// span; an early stop; a cluster that is down.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "chaperone/mock_cluster.h"
#include "lib/kafka/span_reader.h"

namespace chaperone::kafka {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTopic = "spans";
constexpr int kPerPartition = 1000;
constexpr int kValueBytes = 400;

// Produces kPerPartition messages to each of 3 partitions: key "p<P>-<i>",
// offsets 0..999 in each.
void Produce(const std::string& bootstrap) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err), RD_KAFKA_CONF_OK);
  // Brokers return whole record batches: small ones, so that what the reader
  // fetches past a span is its own doing, not the batch's.
  ASSERT_EQ(rd_kafka_conf_set(conf, "batch.size", "16384", err, sizeof err), RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  const std::string value(kValueBytes, 'v');
  for (int32_t p = 0; p < 3; ++p) {
    for (int i = 0; i < kPerPartition; ++i) {
      const std::string key = "p" + std::to_string(p) + "-" + std::to_string(i);
      rd_kafka_resp_err_t e;
      while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(p),
                                    RD_KAFKA_V_KEY(key.data(), key.size()),
                                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
             RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 10);
      ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  ASSERT_EQ(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

class SpanReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = MockCluster::Start(2, {{kTopic, 3}});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = c->release();
    Produce(cluster_->bootstrap_servers());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  std::unique_ptr<SpanReader> NewReader(bool measure = false) {
    auto r = CreateLibrdkafkaSpanReader(
        {.properties = {{"bootstrap.servers", cluster_->bootstrap_servers()}}, .measure_bytes = measure});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  static MockCluster* cluster_;
};
MockCluster* SpanReaderTest::cluster_ = nullptr;

TEST_F(SpanReaderTest, ReadsExactlyTheSpansOverGapsAndPastTheEndOfTheLog) {
  auto reader = NewReader();
  ASSERT_NE(reader, nullptr);
  int64_t low = -1, high = -1;
  ASSERT_TRUE(reader->QueryWatermarks(kTopic, 0, &low, &high, 10s).ok());
  EXPECT_EQ(low, 0);
  EXPECT_EQ(high, kPerPartition);

  // Given out of order and overlapping: the reader merges them.
  std::vector<OffsetSpan> spans = {{0, 500, 509}, {0, 10, 19}, {0, 15, 21}, {0, 990, 5000}, {1, 0, 0}};
  std::map<int32_t, std::vector<int64_t>> got;
  Status s = reader->Read(
      kTopic, spans, 0,
      [&](const Message& m) {
        got[m.partition].push_back(m.offset);
        EXPECT_EQ(m.view.key, "p" + std::to_string(m.partition) + "-" + std::to_string(m.offset));
        EXPECT_EQ(m.view.value.size(), static_cast<size_t>(kValueBytes));
        return true;
      },
      30s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<int64_t> want0;
  for (int64_t o = 10; o <= 21; ++o) want0.push_back(o);
  for (int64_t o = 500; o <= 509; ++o) want0.push_back(o);
  for (int64_t o = 990; o < kPerPartition; ++o) want0.push_back(o);
  std::string seen;
  for (int64_t o : got[0]) seen += std::to_string(o) + " ";
  EXPECT_EQ(got[0], want0) << seen;
  EXPECT_EQ(got[1], std::vector<int64_t>{0});
  EXPECT_FALSE(got.count(2));
  EXPECT_GE(reader->stats().seeks, 2) << "over the two gaps of partition 0";
  EXPECT_EQ(reader->stats().delivered, static_cast<int64_t>(want0.size() + 1));
}

TEST_F(SpanReaderTest, FetchesLittlePastASpanWhenToldItsSize) {
  auto reader = NewReader(/*measure=*/true);
  ASSERT_NE(reader, nullptr);
  // 400 of partition 2's 1000 messages (about 163 KB of its 408 KB). Past the
  // span's end the reader fetches at most its queue budget and one fetch
  // (a sixteenth of the span each, at least 16 KiB) before it pauses the
  // partition, plus the record batches (16 KiB here) that straddle the
  // span's ends: whatever the machine's load, well under twice the span.
  const int64_t span_bytes = 400 * (kValueBytes + 8);
  int64_t n = 0;
  ASSERT_TRUE(reader->Read(kTopic, {{2, 100, 499}}, span_bytes, [&](const Message&) { return ++n > 0; }, 30s).ok());
  EXPECT_EQ(n, 400);
  const int64_t fetched = reader->stats().bytes_fetched;
  EXPECT_GT(fetched, span_bytes) << "the messages and their framing";
  EXPECT_LT(fetched, 2 * span_bytes) << "the partition holds " << kPerPartition * (kValueBytes + 8) << " bytes";
}

TEST_F(SpanReaderTest, TheCallerCanStopEarly) {
  auto reader = NewReader();
  ASSERT_NE(reader, nullptr);
  int64_t n = 0;
  ASSERT_TRUE(reader->Read(kTopic, {{0, 0, 999}, {1, 0, 999}}, 0, [&](const Message&) { return ++n < 5; }, 30s).ok());
  EXPECT_EQ(n, 5);
}

TEST_F(SpanReaderTest, AClusterThatIsDownFailsTheReadAfterTheStallTimeout) {
  auto c = MockCluster::Start(1, {{kTopic, 1}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->SetBrokerDown(1).ok());
  auto r = CreateLibrdkafkaSpanReader({.properties = {{"bootstrap.servers", (*c)->bootstrap_servers()}}});
  ASSERT_TRUE(r.ok());
  Status s = (*r)->Read(kTopic, {{0, 0, 10}}, 0, [](const Message&) { return true; }, 1500ms);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("no progress"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace chaperone::kafka
