#include "common/heap_stats.h"

#include <gtest/gtest.h>

namespace chaperone {
namespace {

// The test binary runs on the C library's malloc: no statistics, no gauges
// (the chaperone binary's jemalloc figures are checked in tests/e2e/web_cli.sh).
TEST(HeapStats, UnknownWithoutAnAllocatorThatKeepsThem) {
  HeapStats s = ReadHeapStats();
  EXPECT_FALSE(s.known);
  EXPECT_EQ(RenderHeapStats(s), "");
}

TEST(HeapStats, RendersEachFigureAsAPrometheusGauge) {
  HeapStats s;
  s.known = true;
  s.allocated = 1000;
  s.active = 4096;
  s.resident = 8192;
  s.dirty = 12288;
  const std::string text = RenderHeapStats(s);
  EXPECT_NE(text.find("# TYPE chaperone_heap_allocated_bytes gauge\nchaperone_heap_allocated_bytes 1000\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nchaperone_heap_active_bytes 4096\n"), std::string::npos);
  EXPECT_NE(text.find("\nchaperone_heap_resident_bytes 8192\n"), std::string::npos);
  EXPECT_NE(text.find("\nchaperone_heap_dirty_bytes 12288\n"), std::string::npos);
}

}  // namespace
}  // namespace chaperone
