// Fuzzes DecodeTotals, the decoder of the store's window_totals values
// (src/store/SCHEMA.md): whatever it accepts must hold windows of its bucket
// in ascending order, and encode back to a value that decodes to the same.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/engine.h"
#include "store/schema.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chaperone::store;
  const internal::TotalsKey key{"orders", "regional", 1'795'500'000};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<WindowTotal> windows;
  if (!internal::DecodeTotals(key, in, windows).ok()) return 0;
  for (size_t i = 0; i < windows.size(); ++i) {
    Check(windows[i].window_begin_sec >= key.bucket_sec &&
          windows[i].window_begin_sec < key.bucket_sec + internal::kTotalsBucketSec);
    Check(i == 0 || windows[i].window_begin_sec > windows[i - 1].window_begin_sec);
  }
  std::string again = internal::EncodeTotals(key.bucket_sec, windows);
  std::vector<WindowTotal> back;
  Check(internal::DecodeTotals(key, again, back).ok());
  Check(back.size() == windows.size());
  for (size_t i = 0; i < back.size(); ++i) {
    const WindowTotal &a = windows[i], &b = back[i];
    Check(a.window_begin_sec == b.window_begin_sec && a.window_end_sec == b.window_end_sec && a.count == b.count &&
          a.digest == b.digest && a.rows == b.rows && a.unknown_digests == b.unknown_digests &&
          a.updated_ms == b.updated_ms && a.latency == b.latency &&
          (a.p99 == b.p99 || (a.p99 != a.p99 && b.p99 != b.p99)));  // NaN stays NaN
  }
  Check(internal::EncodeTotals(key.bucket_sec, back) == again);
  return 0;
}
