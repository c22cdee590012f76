// Topic names seen by the hot path, interned once, looked up without a lock.
//
// Callbacks on several librdkafka threads look topics up by name for every
// message; the first message of a topic inserts it under a mutex. Entries are
// never removed while the registry lives, so an entry pointer can travel
// through the observation queue to the drain thread. The hash table grows by
// publishing a bigger copy; superseded tables are kept until destruction
// (readers may still be probing them), which bounds memory to twice the live
// table.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chaperone {
class TimestampChain;
}

namespace chaperone::interceptor {

struct TopicInfo {
  std::string name;
  uint64_t hash = 0;
  const TimestampChain* chain = nullptr;  // how event times are read for this topic
  bool excluded = false;                  // not audited
  // Owned by the drain thread (the WindowTracker's id for this topic, or -1).
  mutable int64_t tracker_id = -1;
};

class TopicRegistry {
 public:
  // `resolve` fills `chain` and `excluded` of a new entry; it runs under the
  // registry's mutex, once per topic.
  explicit TopicRegistry(std::function<void(TopicInfo&)> resolve);
  ~TopicRegistry();
  TopicRegistry(const TopicRegistry&) = delete;
  TopicRegistry& operator=(const TopicRegistry&) = delete;

  // Any thread. The entry lives as long as the registry.
  const TopicInfo* Lookup(std::string_view name) {
    // Most clients send to one topic at a time: try the last hit first.
    const TopicInfo* last = last_.load(std::memory_order_acquire);
    if (last != nullptr && last->name == name) return last;
    const TopicInfo* e = Find(name);
    if (e != last) last_.store(e, std::memory_order_release);
    return e;
  }

  size_t size() const;
  static uint64_t Hash(std::string_view name);

 private:
  const TopicInfo* Find(std::string_view name) {
    uint64_t h = Hash(name);
    const Table* t = table_.load(std::memory_order_acquire);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
      const TopicInfo* e = t->slots[i].load(std::memory_order_acquire);
      if (e == nullptr) break;
      if (e->hash == h && e->name == name) return e;
    }
    return Insert(name, h);
  }

  struct Table {
    explicit Table(size_t capacity);
    size_t mask;
    std::unique_ptr<std::atomic<const TopicInfo*>[]> slots;
  };
  const TopicInfo* Insert(std::string_view name, uint64_t hash);
  static void Place(Table& t, const TopicInfo* e);

  const std::function<void(TopicInfo&)> resolve_;
  std::atomic<const Table*> table_;
  std::atomic<const TopicInfo*> last_{nullptr};
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Table>> tables_;  // guarded by mu_; the last one is current
  std::deque<TopicInfo> entries_;               // guarded by mu_; stable addresses
};

}  // namespace chaperone::interceptor
