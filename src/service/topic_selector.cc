#include "service/topic_selector.h"

#include <algorithm>

#include "common/topic_name.h"

namespace chaperone::service {

const char* TopicSourceName(TopicSource s) { return s == TopicSource::kManual ? "manual" : "pattern"; }

Result<TopicSelector> TopicSelector::Create(const std::vector<std::string>& include,
                                            const std::vector<std::string>& exclude,
                                            const std::vector<std::string>& always_excluded_topics) {
  TopicSelector sel;
  try {
    for (const auto& re : include) sel.include_.emplace_back(re, std::regex::ECMAScript | std::regex::optimize);
    for (const auto& re : exclude) sel.exclude_.emplace_back(re, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(std::string("bad topic regex: ") + e.what());
  }
  sel.always_excluded_.insert(always_excluded_topics.begin(), always_excluded_topics.end());
  return sel;
}

TopicSelector::TopicSelector(const TopicSelector& o)
    : include_(o.include_), exclude_(o.exclude_), always_excluded_(o.always_excluded_) {
  std::lock_guard lock(o.mu_);
  manual_ = o.manual_;
  removed_ = o.removed_;
  generation_ = o.generation_;
}

bool TopicSelector::MatchesPatterns(std::string_view topic) const {
  std::string t(topic);
  if (always_excluded_.count(t)) return false;
  bool included = std::any_of(include_.begin(), include_.end(), [&](const std::regex& re) { return std::regex_match(t, re); });
  if (!included) return false;
  return std::none_of(exclude_.begin(), exclude_.end(), [&](const std::regex& re) { return std::regex_match(t, re); });
}

bool TopicSelector::SelectedLocked(const std::string& topic) const {
  if (always_excluded_.count(topic)) return false;
  if (manual_.count(topic)) return true;
  if (removed_.count(topic)) return false;
  auto it = pattern_cache_.find(topic);
  if (it == pattern_cache_.end()) it = pattern_cache_.emplace(topic, MatchesPatterns(topic)).first;
  return it->second;
}

std::vector<SelectedTopic> TopicSelector::Select(const std::vector<std::string>& existing) const {
  std::lock_guard lock(mu_);
  std::vector<SelectedTopic> out;
  for (const auto& t : existing) {
    if (!SelectedLocked(t)) continue;
    auto m = manual_.find(t);
    out.push_back(SelectedTopic{t, m != manual_.end() ? TopicSource::kManual : TopicSource::kPattern,
                                m != manual_.end() ? m->second : 0});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.topic < b.topic; });
  out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.topic == b.topic; }),
            out.end());
  return out;
}

Status TopicSelector::Add(const std::string& topic, int expected_partitions) {
  if (Status s = common::ValidateTopicName(topic); !s.ok()) return s;
  if (always_excluded_.count(topic)) return Status::InvalidArgument("topic " + topic + " is the audit topic; it is never audited");
  if (expected_partitions < 0) return Status::InvalidArgument("numPartitions must be positive");
  std::lock_guard lock(mu_);
  if (manual_.count(topic)) return Status::AlreadyExists("topic " + topic + " was already added");
  manual_[topic] = expected_partitions;
  removed_.erase(topic);
  ++generation_;
  return Status::Ok();
}

Status TopicSelector::Remove(const std::string& topic, bool exists) {
  if (Status s = common::ValidateTopicName(topic); !s.ok()) return s;
  std::lock_guard lock(mu_);
  bool manual = manual_.erase(topic) > 0;
  if (!manual && (!exists || !SelectedLocked(topic))) return Status::NotFound("topic " + topic + " is not audited");
  removed_.insert(topic);
  ++generation_;
  return Status::Ok();
}

std::vector<SelectedTopic> TopicSelector::Manual() const {
  std::lock_guard lock(mu_);
  std::vector<SelectedTopic> out;
  for (const auto& [topic, n] : manual_) out.push_back(SelectedTopic{topic, TopicSource::kManual, n});
  return out;
}

uint64_t TopicSelector::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

}  // namespace chaperone::service
