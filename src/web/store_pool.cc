#include "web/store_pool.h"

namespace chaperone::web {

StorePool::StorePool(std::string url, size_t max_connections, Opener opener)
    : url_(std::move(url)), max_connections_(std::max<size_t>(1, max_connections)), opener_(std::move(opener)) {
  if (!opener_) opener_ = [](const std::string& u) { return store::Store::Open(u, store::OpenMode::kMustExist); };
}

StorePool::StorePool(std::shared_ptr<store::Store> shared) : max_connections_(1), shared_(std::move(shared)) {}

Status StorePool::Start() {
  if (shared_) {
    std::lock_guard lock(mu_);
    backend_ = shared_->backend();
    return Status::Ok();
  }
  auto s = opener_(url_);
  if (!s.ok()) return s.status();
  std::lock_guard lock(mu_);
  backend_ = (*s)->backend();
  idle_.push_back(std::move(*s));
  ++open_;
  return Status::Ok();
}

std::string StorePool::backend() const {
  std::lock_guard lock(mu_);
  return backend_;
}

Result<StorePool::Lease> StorePool::Acquire() {
  std::unique_lock lock(mu_);
  if (shared_) {
    cv_.wait(lock, [&] { return !shared_busy_; });
    shared_busy_ = true;
    return Lease(this, nullptr, shared_.get());
  }
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
  if (!idle_.empty()) {
    auto s = std::move(idle_.back());
    idle_.pop_back();
    store::Store* raw = s.get();
    return Lease(this, std::move(s), raw);
  }
  ++open_;  // reserve the slot while opening without the lock
  lock.unlock();
  auto s = opener_(url_);
  if (!s.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return s.status();
  }
  store::Store* raw = s->get();
  return Lease(this, std::move(*s), raw);
}

void StorePool::Release(std::unique_ptr<store::Store> store, bool discard) {
  {
    std::lock_guard lock(mu_);
    if (shared_) {
      shared_busy_ = false;
    } else if (discard || !store) {
      --open_;
    } else {
      idle_.push_back(std::move(store));
    }
  }
  cv_.notify_one();
}

StorePool::Lease::~Lease() {
  if (pool_) pool_->Release(std::move(store_), discard_);
}

}  // namespace chaperone::web
