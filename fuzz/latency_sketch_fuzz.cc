// Fuzzes LatencySketch::Decode (and the base64 codec under it). The input is
// tried twice: as base64 text, and as the binary encoding itself (base64-encoded
// first, so the fuzzer mutates the binary layout directly). Whatever decodes
// must behave as a sketch: re-encode stably, give ordered quantiles, and undo a
// merge with itself.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chaperone/latency_sketch.h"
#include "lib/util/base64.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void Exercise(const chaperone::LatencySketch& s) {
  chaperone::Result<chaperone::LatencySketch> again = chaperone::LatencySketch::Decode(s.Encode());
  Check(again.ok());
  Check(again->Buckets() == s.Buckets() && again->count() == s.count());
  double prev = -1;
  for (double q : {0.0, 0.5, 0.9, 0.99, 1.0}) {
    double v = s.Quantile(q);
    Check(s.empty() ? std::isnan(v) : v >= prev);
    prev = v;
  }
  chaperone::LatencySketch doubled = s;
  doubled.Merge(s);
  Check(doubled.Subtract(s));
  Check(doubled.Buckets() == s.Buckets() && doubled.count() == s.count());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  chaperone::Result<chaperone::LatencySketch> text = chaperone::LatencySketch::Decode(in);
  if (text.ok()) Exercise(*text);

  std::string b64 = chaperone::util::Base64Encode(in);
  chaperone::Result<std::string> back = chaperone::util::Base64Decode(b64);
  Check(back.ok() && *back == in);
  chaperone::Result<chaperone::LatencySketch> bin = chaperone::LatencySketch::Decode(b64);
  if (bin.ok()) Exercise(*bin);
  return 0;
}
