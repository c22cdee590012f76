#include "interceptor/topic_registry.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace chaperone::interceptor {

TopicRegistry::Table::Table(size_t capacity)
    : mask(capacity - 1), slots(new std::atomic<const TopicInfo*>[capacity]) {
  for (size_t i = 0; i < capacity; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
}

TopicRegistry::TopicRegistry(std::function<void(TopicInfo&)> resolve) : resolve_(std::move(resolve)) {
  tables_.push_back(std::make_unique<Table>(64));
  table_.store(tables_.back().get(), std::memory_order_release);
}

TopicRegistry::~TopicRegistry() = default;

uint64_t TopicRegistry::Hash(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

size_t TopicRegistry::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void TopicRegistry::Place(Table& t, const TopicInfo* e) {
  size_t i = e->hash & t.mask;
  while (t.slots[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & t.mask;
  t.slots[i].store(e, std::memory_order_release);
}

const TopicInfo* TopicRegistry::Insert(std::string_view name, uint64_t hash) {
  std::lock_guard lock(mu_);
  Table* t = tables_.back().get();
  for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
    const TopicInfo* e = t->slots[i].load(std::memory_order_relaxed);
    if (e == nullptr) break;
    if (e->hash == hash && e->name == name) return e;  // another thread inserted it first
  }
  TopicInfo& info = entries_.emplace_back();
  info.name = std::string(name);
  info.hash = hash;
  resolve_(info);
  // Keep the load factor at most 1/2 so probes stay short.
  if ((entries_.size()) * 2 > t->mask + 1) {
    auto bigger = std::make_unique<Table>((t->mask + 1) * 2);
    for (const TopicInfo& e : entries_) Place(*bigger, &e);
    tables_.push_back(std::move(bigger));
    table_.store(tables_.back().get(), std::memory_order_release);
  } else {
    Place(*t, &info);
  }
  return &info;
}

}  // namespace chaperone::interceptor
