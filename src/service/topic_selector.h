// TopicSelector: which topics of the cluster this service audits.
//
// A topic is audited when it was added by hand (POST /topics), or when its
// whole name matches an include regex and no exclude regex, and it was not
// removed by hand (DELETE /topics/{topic}). Manual changes live in memory
// only: they apply to this process until it restarts (docs/service.md).
//
// Thread-safe: the discovery thread calls Select(), REST threads call Add()
// and Remove().
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"

namespace chaperone::service {

enum class TopicSource { kPattern, kManual };
const char* TopicSourceName(TopicSource s);

struct SelectedTopic {
  std::string topic;
  TopicSource source = TopicSource::kPattern;
  int expected_partitions = 0;  // numPartitions given with POST /topics; 0 when not given
};

class TopicSelector {
 public:
  // Regexes must be valid (the config parser checked them); an invalid one is
  // an InvalidArgument here.
  static Result<TopicSelector> Create(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                                      const std::vector<std::string>& always_excluded_topics);

  TopicSelector(const TopicSelector& o);
  TopicSelector& operator=(const TopicSelector&) = delete;

  // True when the include/exclude patterns alone select `topic`.
  bool MatchesPatterns(std::string_view topic) const;

  // The audited subset of `existing` (topic names in the cluster), sorted.
  std::vector<SelectedTopic> Select(const std::vector<std::string>& existing) const;

  // POST /topics: audit `topic` from now on. AlreadyExists if it was already
  // added by hand; InvalidArgument for a bad name or one that is always
  // excluded (the audit topic).
  Status Add(const std::string& topic, int expected_partitions);
  // DELETE /topics/{topic}: stop auditing `topic`. `exists` tells whether the
  // cluster has it. NotFound when it is not audited now.
  Status Remove(const std::string& topic, bool exists);

  // Topics added by hand, sorted (whether or not the cluster has them).
  std::vector<SelectedTopic> Manual() const;

  // Bumped by every successful Add/Remove, so the discovery loop knows to
  // re-subscribe at once.
  uint64_t generation() const;

 private:
  TopicSelector() = default;
  bool SelectedLocked(const std::string& topic) const;

  std::vector<std::regex> include_;
  std::vector<std::regex> exclude_;
  std::set<std::string> always_excluded_;

  mutable std::mutex mu_;
  std::map<std::string, int> manual_;  // topic → expected partitions (0 unknown); guarded by mu_
  std::set<std::string> removed_;      // guarded by mu_
  uint64_t generation_ = 0;            // guarded by mu_
  // Pattern results per topic name; regexes are slow and topics many.
  mutable std::map<std::string, bool> pattern_cache_;  // guarded by mu_
};

}  // namespace chaperone::service
