// MultisetDiff (src/read/multiset_diff.h): every digest whose copy counts
// differ between the sides, in digest order, with exact counts and the lowest
// max_locations locations of each side; the same result whether it fits the
// memory budget or spills to run files, which are gone afterwards. The counts
// are checked against an oracle computed here with a std::map.
#include "read/multiset_diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/process.h"

namespace chaperone::read {
namespace {

using test::TempDir;

constexpr size_t kTinyBudget = size_t{4} << 10;

struct Copy {
  Side side;
  uint64_t digest;
  Location where;
};

// digest -> (source copies, target copies), for the digests whose counts differ.
using Counts = std::map<uint64_t, std::pair<int64_t, int64_t>>;

Counts Oracle(const std::vector<Copy>& copies) {
  Counts all;
  for (const Copy& c : copies) ++(c.side == Side::kSource ? all[c.digest].first : all[c.digest].second);
  std::erase_if(all, [](const auto& kv) { return kv.second.first == kv.second.second; });
  return all;
}

Counts CountsOf(const std::vector<DiffGroup>& groups) {
  Counts out;
  for (const DiffGroup& g : groups) out[g.digest] = {g.source_copies, g.target_copies};
  return out;
}

std::string Show(const std::vector<Location>& where) {
  std::string s;
  for (const Location& l : where) s += " " + std::to_string(l.cluster) + "/" + std::to_string(l.partition) + "@" + std::to_string(l.offset);
  return s;
}

// A group as text, locations included: what two diffs of the same copies must agree on.
std::string Show(const DiffGroup& g) {
  return std::to_string(g.digest) + " " + std::to_string(g.source_copies) + ":" + std::to_string(g.target_copies) +
         " source" + Show(g.source) + " target" + Show(g.target);
}

std::vector<std::string> Show(const std::vector<DiffGroup>& groups) {
  std::vector<std::string> out;
  for (const DiffGroup& g : groups) out.push_back(Show(g));
  return out;
}

MultisetDiff::Options InMemory() { return MultisetDiff::Options{}; }
MultisetDiff::Options Spilling(const std::string& dir) {
  MultisetDiff::Options o;
  o.memory_budget_bytes = kTinyBudget;
  o.spill_dir = dir;
  return o;
}

std::unique_ptr<MultisetDiff> Filled(const MultisetDiff::Options& options, const std::vector<Copy>& copies) {
  auto diff = MultisetDiff::Create(options);
  EXPECT_TRUE(diff.ok()) << diff.status().ToString();
  if (!diff.ok()) return nullptr;
  for (const Copy& c : copies) {
    Status s = (*diff)->Add(c.side, c.digest, c.where);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) break;
  }
  return std::move(*diff);
}

// The groups of `copies`, checked to come in increasing digest order.
std::vector<DiffGroup> Diff(const std::vector<Copy>& copies, const MultisetDiff::Options& options = InMemory(),
                            MultisetDiffStats* stats = nullptr) {
  std::vector<DiffGroup> groups;
  auto diff = Filled(options, copies);
  if (diff == nullptr) return groups;
  Status s = diff->Finish([&](const DiffGroup& g) {
    EXPECT_TRUE(groups.empty() || groups.back().digest < g.digest) << g.digest;
    groups.push_back(g);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (stats != nullptr) *stats = diff->stats();
  return groups;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

// Each digest in `digests` read once on each side, at offsets from `offset` on.
void AddBoth(std::vector<Copy>& copies, const std::vector<uint64_t>& digests, int64_t offset = 0) {
  for (uint64_t d : digests) {
    copies.push_back({Side::kSource, d, {0, 0, offset}});
    copies.push_back({Side::kTarget, d, {1, 0, offset++}});
  }
}

TEST(MultisetDiff, EqualMultisetsHaveNoGroup) {
  std::vector<Copy> copies;
  AddBoth(copies, {5, 3, 3, 9, 1, 5, 5});
  MultisetDiffStats stats;
  EXPECT_TRUE(Diff(copies, InMemory(), &stats).empty());
  EXPECT_EQ(stats.source_entries, 7);
  EXPECT_EQ(stats.target_entries, 7);
  EXPECT_EQ(stats.groups_differing, 0);
  EXPECT_EQ(stats.runs_spilled, 0);
  EXPECT_EQ(stats.bytes_spilled, 0);
  EXPECT_GT(stats.peak_memory_bytes, 0);

  MultisetDiffStats empty;
  EXPECT_TRUE(Diff({}, InMemory(), &empty).empty());
  EXPECT_EQ(empty.peak_memory_bytes, 0);
}

TEST(MultisetDiff, MissingAndDuplicatedCopiesWithTheirLocations) {
  std::vector<Copy> copies;
  AddBoth(copies, {10, 20, 30});
  copies.push_back({Side::kSource, 40, {2, 7, 100}});  // lost on the way
  copies.push_back({Side::kTarget, 20, {1, 3, 55}});   // written twice
  copies.push_back({Side::kTarget, 20, {1, 2, 99}});   // and thrice
  MultisetDiffStats stats;
  std::vector<DiffGroup> groups = Diff(copies, InMemory(), &stats);
  EXPECT_EQ(Show(groups), (std::vector<std::string>{
                              "20 1:3 source 0/0@1 target 1/0@1 1/2@99 1/3@55",
                              "40 1:0 source 2/7@100 target",
                          }));
  EXPECT_EQ(CountsOf(groups), Oracle(copies));
  EXPECT_EQ(stats.groups_differing, 2);
}

TEST(MultisetDiff, ADigestOnlyInTheTarget) {
  std::vector<Copy> copies;
  AddBoth(copies, {1, 2});
  copies.push_back({Side::kTarget, 0xFFFF'FFFF'FFFF'FFFF, {3, 1, 8}});
  copies.push_back({Side::kTarget, 0, {0, 0, 0}});
  EXPECT_EQ(Show(Diff(copies)), (std::vector<std::string>{
                                    "0 0:1 source target 0/0@0",
                                    "18446744073709551615 0:1 source target 3/1@8",
                                }));
}

TEST(MultisetDiff, LossMaskedByDuplicatesIsFound) {
  // Both sides have three copies: the totals agree, the contents do not.
  std::vector<Copy> copies = {
      {Side::kSource, 7, {0, 0, 1}}, {Side::kSource, 8, {0, 0, 2}}, {Side::kSource, 9, {0, 0, 3}},
      {Side::kTarget, 7, {1, 0, 1}}, {Side::kTarget, 7, {1, 0, 2}}, {Side::kTarget, 9, {1, 0, 3}},
  };
  std::vector<DiffGroup> groups = Diff(copies);
  EXPECT_EQ(CountsOf(groups), (Counts{{7, {1, 2}}, {8, {1, 0}}}));
  EXPECT_EQ(CountsOf(groups), Oracle(copies));
}

// `n` copies of one digest on `side`, at locations spread over clusters and
// partitions, added in a shuffled order; `where` receives their locations.
void Scattered(std::vector<Copy>& copies, Side side, uint64_t digest, int n, std::mt19937_64& rng,
               std::vector<Location>& where) {
  for (int i = 0; i < n; ++i) {
    where.push_back(Location{static_cast<uint16_t>(rng() % 4), static_cast<int32_t>(rng() % 8),
                             static_cast<int64_t>(rng() % 1'000'000'000)});
  }
  std::vector<Location> shuffled = where;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const Location& l : shuffled) copies.push_back({side, digest, l});
}

std::vector<Location> Lowest(std::vector<Location> where, size_t n) {
  std::sort(where.begin(), where.end(), [](const Location& a, const Location& b) {
    return std::tie(a.cluster, a.partition, a.offset) < std::tie(b.cluster, b.partition, b.offset);
  });
  where.resize(std::min(n, where.size()));
  return where;
}

TEST(MultisetDiff, ManyCopiesOfOneDigestHaveExactCountsAndTheLowestLocations) {
  std::mt19937_64 rng(42);
  std::vector<Copy> copies;
  std::vector<Location> source, target;
  Scattered(copies, Side::kSource, 77, 50'000, rng, source);
  Scattered(copies, Side::kTarget, 77, 49'999, rng, target);
  AddBoth(copies, {76, 78});
  TempDir dir("multiset-diff");
  for (const MultisetDiff::Options& options : {InMemory(), Spilling(dir.path())}) {
    MultisetDiffStats stats;
    std::vector<DiffGroup> groups = Diff(copies, options, &stats);
    ASSERT_EQ(groups.size(), 1u);
    const DiffGroup& g = groups[0];
    EXPECT_EQ(g.digest, 77u);
    EXPECT_EQ(g.source_copies, 50'000);
    EXPECT_EQ(g.target_copies, 49'999);
    EXPECT_EQ(Show(g.source), Show(Lowest(source, options.max_locations)));
    EXPECT_EQ(Show(g.target), Show(Lowest(target, options.max_locations)));
    EXPECT_LE(stats.peak_memory_bytes, static_cast<int64_t>(options.memory_budget_bytes));
  }
  EXPECT_TRUE(FilesIn(dir.path()).empty());

  // Counts only.
  MultisetDiff::Options none;
  none.max_locations = 0;
  std::vector<DiffGroup> groups = Diff(copies, none);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(Show(groups[0]), "77 50000:49999 source target");
}

// About 200k copies of 100k messages whose digests are skewed (a few digests
// carry thousands of copies), some lost on the way, some written twice.
std::vector<Copy> Skewed(std::mt19937_64& rng) {
  std::vector<Copy> copies;
  std::uniform_real_distribution<double> u(0, 1);
  int64_t offset = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double x = u(rng);
    const uint64_t digest = static_cast<uint64_t>(50'000 * x * x * x * x) * 0x9E37'79B9'7F4A'7C15ULL;
    const auto cluster = static_cast<uint16_t>(rng() % 3);
    const auto partition = static_cast<int32_t>(rng() % 16);
    copies.push_back({Side::kSource, digest, {cluster, partition, offset}});
    const double fate = u(rng);
    if (fate >= 0.03) copies.push_back({Side::kTarget, digest, {3, partition, offset}});
    if (fate >= 0.98) copies.push_back({Side::kTarget, digest, {3, partition, offset + 1}});
    offset += 2;
  }
  return copies;
}

TEST(MultisetDiff, PastTheBudgetItSpillsAndAgreesWithTheInMemoryDiffAndTheOracle) {
  std::mt19937_64 rng(7);
  const std::vector<Copy> copies = Skewed(rng);
  const Counts oracle = Oracle(copies);
  ASSERT_GT(oracle.size(), 1000u);

  MultisetDiffStats in_memory;
  const std::vector<DiffGroup> expected = Diff(copies, InMemory(), &in_memory);
  EXPECT_EQ(CountsOf(expected), oracle);
  EXPECT_EQ(in_memory.runs_spilled, 0);

  TempDir dir("multiset-diff");
  MultisetDiffStats spilled;
  const std::vector<DiffGroup> groups = Diff(copies, Spilling(dir.path()), &spilled);
  EXPECT_EQ(Show(groups), Show(expected));
  EXPECT_EQ(CountsOf(groups), oracle);
  EXPECT_TRUE(FilesIn(dir.path()).empty());

  const auto entries = static_cast<int64_t>(copies.size());
  EXPECT_EQ(spilled.source_entries + spilled.target_entries, entries);
  EXPECT_EQ(spilled.source_entries, in_memory.source_entries);
  EXPECT_EQ(spilled.groups_differing, static_cast<int64_t>(oracle.size()));
  EXPECT_EQ(in_memory.groups_differing, static_cast<int64_t>(oracle.size()));
  // Runs of at most 4096 / 24 entries, too many to merge at once with
  // buffers within 4 KiB: merge passes write the entries again, as more runs.
  const int64_t runs = entries / static_cast<int64_t>(kTinyBudget / 24);
  EXPECT_GT(spilled.runs_spilled, runs + runs / 10);
  EXPECT_GT(spilled.bytes_spilled, 2 * entries * 24);
  EXPECT_LE(spilled.peak_memory_bytes, static_cast<int64_t>(kTinyBudget));
  EXPECT_GT(spilled.peak_memory_bytes, static_cast<int64_t>(kTinyBudget / 2));
}

// A diff given 5,000 copies at a 4 KiB budget, not finished: its run files
// are in `dir`.
struct Unfinished {
  Unfinished() {
    std::mt19937_64 rng(3);
    std::vector<Copy> copies = Skewed(rng);
    copies.resize(5'000);
    diff = Filled(Spilling(dir.path()), copies);
  }
  TempDir dir{"multiset-diff"};
  std::unique_ptr<MultisetDiff> diff;
};

TEST(MultisetDiff, RunFilesAreRemovedByTheDestructor) {
  Unfinished u;
  ASSERT_NE(u.diff, nullptr);
  auto& [dir, diff] = u;
  const std::vector<std::string> files = FilesIn(dir.path());
  EXPECT_EQ(static_cast<int64_t>(files.size()), diff->stats().runs_spilled);
  ASSERT_FALSE(files.empty());
  for (const std::string& f : files) EXPECT_EQ(f.rfind("chaperone-diff-", 0), 0u) << f;
  diff.reset();
  EXPECT_TRUE(FilesIn(dir.path()).empty());
}

TEST(MultisetDiff, ARunFileCutShortIsReportedAndRemoved) {
  Unfinished u;
  ASSERT_NE(u.diff, nullptr);
  auto& [dir, diff] = u;
  const std::vector<std::string> files = FilesIn(dir.path());
  ASSERT_GT(files.size(), 2u);
  const std::string cut = dir.File(files[1]);
  std::filesystem::resize_file(cut, 100);
  Status s = diff->Finish([](const DiffGroup&) { return true; });
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message(), "multiset diff: read " + cut + ": the file ends early");
  EXPECT_TRUE(FilesIn(dir.path()).empty());
}

TEST(MultisetDiff, OnGroupReturningFalseStopsTheDiff) {
  std::mt19937_64 rng(11);
  const std::vector<Copy> copies = Skewed(rng);
  TempDir dir("multiset-diff");
  for (const MultisetDiff::Options& options : {InMemory(), Spilling(dir.path())}) {
    auto diff = Filled(options, copies);
    ASSERT_NE(diff, nullptr);
    int calls = 0;
    Status s = diff->Finish([&](const DiffGroup&) { return ++calls < 3; });
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(diff->stats().groups_differing, 3);
    EXPECT_TRUE(FilesIn(dir.path()).empty());
  }
}

TEST(MultisetDiff, FinishTwiceIsAnError) {
  auto diff = MultisetDiff::Create(InMemory());
  ASSERT_TRUE(diff.ok());
  ASSERT_TRUE((*diff)->Add(Side::kSource, 1, {}).ok());
  int calls = 0;
  auto count = [&](const DiffGroup&) { return ++calls > 0; };
  ASSERT_TRUE((*diff)->Finish(count).ok());
  EXPECT_EQ(calls, 1);
  Status again = (*diff)->Finish(count);
  EXPECT_EQ(again.code(), Status::Code::kInternal);
  EXPECT_EQ(again.message(), "multiset diff: Finish was already called");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ((*diff)->Add(Side::kTarget, 1, {}).message(), "multiset diff: Add after Finish");
}

TEST(MultisetDiff, ASpillDirThatCannotTakeFilesIsAClearError) {
  TempDir dir("multiset-diff");
  const std::string file = dir.Write("a-file", "x");
  const std::vector<std::pair<std::string, int>> cases = {{dir.File("missing"), ENOENT}, {file, ENOTDIR}};
  for (const auto& [spill_dir, err] : cases) {
    auto diff = MultisetDiff::Create(Spilling(spill_dir));
    ASSERT_TRUE(diff.ok());
    Status s;
    int added = 0;
    for (; added < 10'000 && s.ok(); ++added) s = (*diff)->Add(Side::kSource, static_cast<uint64_t>(added), {});
    EXPECT_LE(added, static_cast<int>(kTinyBudget / 24) + 1);
    EXPECT_EQ(s.code(), Status::Code::kUnavailable);
    EXPECT_EQ(s.message(), "multiset diff: cannot create a run file " + spill_dir + "/chaperone-diff-XXXXXX: " +
                               std::strerror(err));
    // The diff is unusable from then on, and says why.
    EXPECT_EQ((*diff)->Add(Side::kSource, 1, {}).message(), s.message());
    EXPECT_EQ((*diff)->Finish([](const DiffGroup&) { return true; }).message(), s.message());
  }
}

TEST(MultisetDiff, WithinTheBudgetTheDiskIsNotTouched) {
  // A spill dir that does not exist: any use of it would fail the diff.
  std::vector<Copy> copies;
  AddBoth(copies, {1, 2, 3});
  copies.push_back({Side::kSource, 4, {}});
  MultisetDiff::Options options;
  options.spill_dir = "/nonexistent/chaperone-multiset-diff-test";
  MultisetDiffStats stats;
  EXPECT_EQ(CountsOf(Diff(copies, options, &stats)), (Counts{{4, {1, 0}}}));
  EXPECT_EQ(stats.runs_spilled, 0);
}

TEST(MultisetDiff, ABudgetBelowOneKibibyteIsRefused) {
  MultisetDiff::Options options;
  options.memory_budget_bytes = 1000;
  auto diff = MultisetDiff::Create(options);
  ASSERT_FALSE(diff.ok());
  EXPECT_EQ(diff.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(diff.status().message(), "multiset diff: a memory budget of 1000 bytes is below the minimum of 1024");
  options.memory_budget_bytes = 1024;
  EXPECT_TRUE(MultisetDiff::Create(options).ok());
}

}  // namespace
}  // namespace chaperone::read
