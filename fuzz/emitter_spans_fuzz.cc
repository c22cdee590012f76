// Fuzzes DecodeGaps and DecodeIncomplete, the decoders of the store's
// `emitters.gaps` and `emitters.incomplete` (src/store/SCHEMA.md). The input is
// the gaps value, a newline, then the incomplete value. Whatever they accept
// must be bounded and merged as the engine keeps it, and encode back to values
// that decode to the same.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/engine.h"
#include "store/store.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// Ascending, disjoint, each from <= to, at most kMaxIncompleteSpans.
void CheckMerged(const std::vector<chaperone::store::internal::Span>& spans) {
  Check(spans.size() <= chaperone::store::kMaxIncompleteSpans);
  for (size_t i = 0; i < spans.size(); ++i) {
    Check(spans[i].first <= spans[i].second);
    Check(i == 0 || spans[i].first > spans[i - 1].second);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chaperone::store::internal;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string gaps(nl == std::string_view::npos ? std::string_view() : in.substr(0, nl));
  const std::string incomplete(nl == std::string_view::npos ? in : in.substr(nl + 1));

  EmitterState e;
  e.gaps = DecodeGaps(gaps);
  DecodeIncomplete(incomplete, e);
  CheckMerged(e.spans);
  for (const Gap& g : e.gaps) Check(!g.span || g.span->first <= g.span->second);
  CheckMerged(IncompleteSpans(e));

  const std::string gaps_again = EncodeGaps(e.gaps), incomplete_again = EncodeIncomplete(e);
  EmitterState back;
  back.gaps = DecodeGaps(gaps_again);
  DecodeIncomplete(incomplete_again, back);
  Check(back.gaps == e.gaps);
  Check(back.spans == e.spans);
  Check(EncodeGaps(back.gaps) == gaps_again && EncodeIncomplete(back) == incomplete_again);
  return 0;
}
