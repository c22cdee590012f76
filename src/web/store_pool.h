// Store connections for concurrent HTTP requests. A Store object is used by
// one thread at a time: the pool hands each request its own connection, opened
// from the store URL on demand (up to a maximum), or serialises requests over a
// single store handed in by the caller (`chaperone up`, tests).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chaperone/status.h"
#include "store/store.h"

namespace chaperone::web {

class StorePool {
 public:
  using Opener = std::function<Result<std::unique_ptr<store::Store>>(const std::string& url)>;

  // Connections opened from `url` with `opener` (default: store::Store::Open of a store that must exist),
  // at most `max_connections` at once.
  StorePool(std::string url, size_t max_connections, Opener opener = nullptr);
  // One shared store; requests take turns.
  explicit StorePool(std::shared_ptr<store::Store> shared);

  // Opens the first connection (which creates or migrates the schema), so a
  // bad URL or an unreachable database is reported at start.
  Status Start();

  // A connection for the duration of one request.
  class Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(o.pool_), store_(std::move(o.store_)), raw_(o.raw_), discard_(o.discard_) {
      o.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    store::Store& operator*() const { return *raw_; }
    store::Store* operator->() const { return raw_; }
    // The connection failed (e.g. the database went away): close it instead
    // of returning it, so the next request opens a fresh one.
    void Discard() { discard_ = true; }

   private:
    friend class StorePool;
    Lease(StorePool* pool, std::unique_ptr<store::Store> owned, store::Store* raw)
        : pool_(pool), store_(std::move(owned)), raw_(raw) {}
    StorePool* pool_;
    std::unique_ptr<store::Store> store_;  // null for the shared store
    store::Store* raw_;
    bool discard_ = false;
  };

  // Blocks while every connection is in use.
  Result<Lease> Acquire();

  std::string backend() const;  // "sqlite" | "postgresql" | "" before Start

 private:
  void Release(std::unique_ptr<store::Store> store, bool discard);

  const std::string url_;
  const size_t max_connections_;
  Opener opener_;
  std::shared_ptr<store::Store> shared_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<store::Store>> idle_;  // guarded by mu_
  size_t open_ = 0;                                  // connections open (idle or leased), guarded by mu_
  bool shared_busy_ = false;                         // guarded by mu_
  std::string backend_;                              // guarded by mu_
};

}  // namespace chaperone::web
