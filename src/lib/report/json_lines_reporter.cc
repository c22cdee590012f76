// JSON-lines reporter: one encoded audit record per line, in a file or on stdout.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "chaperone/reporter.h"
#include "lib/report/reporter_util.h"

namespace chaperone {
namespace {

class JsonLinesReporter final : public Reporter {
 public:
  JsonLinesReporter(std::FILE* f, std::string path, bool owned) : f_(f), path_(std::move(path)), owned_(owned) {}
  ~JsonLinesReporter() override {
    if (owned_) std::fclose(f_);
  }

  Status Send(const std::vector<AuditRecord>& records, std::chrono::milliseconds /*timeout*/) override {
    std::lock_guard lock(mu_);
    if (Status s = ValidateBatch(records); !s.ok()) {
      stats_.AddFailed(static_cast<int64_t>(records.size()));
      return s;
    }
    std::string buf;
    for (const AuditRecord& r : records) {
      buf.clear();
      buf = EncodeAuditRecord(r);
      buf.push_back('\n');
      if (std::fwrite(buf.data(), 1, buf.size(), f_) != buf.size()) return WriteError(records.size());
      stats_.sent.fetch_add(1, std::memory_order_relaxed);
      stats_.bytes_sent.fetch_add(static_cast<int64_t>(buf.size()), std::memory_order_relaxed);
      pending_bytes_ += static_cast<int64_t>(buf.size());
    }
    if (std::fflush(f_) != 0) return WriteError(records.size());
    stats_.acked.fetch_add(static_cast<int64_t>(records.size()), std::memory_order_relaxed);
    stats_.bytes_acked.fetch_add(pending_bytes_, std::memory_order_relaxed);
    pending_bytes_ = 0;
    return Status::Ok();
  }

  ReporterStats stats() const override { return stats_.Snapshot(); }

 private:
  Status WriteError(size_t batch) {
    int err = errno;
    std::clearerr(f_);
    pending_bytes_ = 0;
    stats_.AddFailed(static_cast<int64_t>(batch));
    return Status::Unavailable("write " + path_ + ": " + std::strerror(err));
  }

  std::mutex mu_;
  std::FILE* const f_;
  const std::string path_;
  const bool owned_;
  int64_t pending_bytes_ = 0;  // guarded by mu_
  AtomicReporterStats stats_;
};

}  // namespace

Result<std::unique_ptr<Reporter>> MakeJsonLinesReporter(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("json-lines reporter: empty path (use \"-\" for stdout)");
  if (path == "-") return std::unique_ptr<Reporter>(new JsonLinesReporter(stdout, "stdout", /*owned=*/false));
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr) return Status::InvalidArgument("json-lines reporter: cannot open " + path + ": " + std::strerror(errno));
  return std::unique_ptr<Reporter>(new JsonLinesReporter(f, path, /*owned=*/true));
}

}  // namespace chaperone
