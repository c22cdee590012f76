// The window_totals value (src/store/SCHEMA.md): what EncodeTotals writes
// DecodeTotals reads back, and a damaged value is an error naming its row,
// never windows made up from it.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "store/engine.h"
#include "store/schema.h"

namespace chaperone::store::internal {
namespace {

const TotalsKey kKey{"orders", "regional", 1'795'500'000};

std::vector<WindowTotal> Sample() {
  WindowTotal a;
  a.window_begin_sec = kKey.bucket_sec;
  a.window_end_sec = a.window_begin_sec + 600;
  a.count = 1000;
  a.digest = std::numeric_limits<uint64_t>::max();
  a.rows = 1;
  a.updated_ms = 1'795'500'600'123;
  WindowTotal b = a;
  b.window_begin_sec += 600;
  b.window_end_sec += 600;
  b.count = 0;  // a replay took it back to nothing
  b.latency = WindowTotal::Latency::kOne;
  b.p99 = 41.5;
  WindowTotal c = a;
  c.window_begin_sec = kKey.bucket_sec + kTotalsBucketSec - 60;  // the bucket's last minute
  c.window_end_sec = c.window_begin_sec + 60;
  c.rows = 3;
  c.unknown_digests = 1;
  c.latency = WindowTotal::Latency::kRows;
  return {a, b, c};
}

TEST(WindowTotals, EncodedWindowsDecodeToTheSameAfterWhatIsAlreadyThere) {
  std::string bytes = EncodeTotals(kKey.bucket_sec, Sample());
  EXPECT_LT(bytes.size(), 3u * 32);  // compact: a day of a topic and tier is a few KB at most
  std::vector<WindowTotal> out = {WindowTotal{}};
  ASSERT_TRUE(DecodeTotals(kKey, bytes, out).ok());
  ASSERT_EQ(out.size(), 4u);
  out.erase(out.begin());
  EXPECT_EQ(out, Sample());
  std::vector<WindowTotal> none;
  ASSERT_TRUE(DecodeTotals(kKey, "", none).ok());  // a row created only to be locked
  EXPECT_TRUE(none.empty());
  ASSERT_TRUE(DecodeTotals(kKey, EncodeTotals(kKey.bucket_sec, {}), none).ok());
  EXPECT_TRUE(none.empty());
}

TEST(WindowTotals, ADamagedValueIsAnErrorNamingItsRow) {
  const std::string good = EncodeTotals(kKey.bucket_sec, Sample());
  auto damaged = [](const std::string& bytes) {
    std::vector<WindowTotal> out;
    Status s = DecodeTotals(kKey, bytes, out);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("window_totals row (orders, regional, 1795500000) is damaged"), std::string::npos)
        << s.message();
    return s.message();
  };
  EXPECT_NE(damaged("\x02" + good.substr(1)).find("unknown format"), std::string::npos);
  for (size_t cut = 2; cut < good.size(); ++cut) {
    std::vector<WindowTotal> out;
    Status s = DecodeTotals(kKey, good.substr(0, cut), out);
    // A cut between two windows is a shorter, valid value (the windows
    // before it); anywhere else it is damage.
    if (s.ok()) {
      std::vector<WindowTotal> all = Sample();
      ASSERT_LT(out.size(), all.size()) << cut;
      EXPECT_EQ(out, std::vector<WindowTotal>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(out.size())));
    } else {
      EXPECT_NE(s.message().find("truncated"), std::string::npos) << cut << ": " << s.message();
    }
  }
  // A window beyond its bucket, two windows at one second, an unknown latency kind.
  std::vector<WindowTotal> far = Sample();
  far.back().window_begin_sec = kKey.bucket_sec + kTotalsBucketSec;
  EXPECT_NE(damaged(EncodeTotals(kKey.bucket_sec, far)).find("beyond its bucket"), std::string::npos);
  std::vector<WindowTotal> twice = Sample();
  twice[1].window_begin_sec = twice[0].window_begin_sec;
  EXPECT_NE(damaged(EncodeTotals(kKey.bucket_sec, twice)).find("out of order"), std::string::npos);
  std::string kind = EncodeTotals(kKey.bucket_sec, {Sample().front()});
  kind.back() = '\x07';
  EXPECT_NE(damaged(kind).find("unknown latency kind"), std::string::npos);
}

}  // namespace
}  // namespace chaperone::store::internal
