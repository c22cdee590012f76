// AuditClient: the public face of the auditing engine (audit_engine.h).
#include "chaperone/audit_client.h"

#include "chaperone/event_time.h"
#include "interceptor/audit_engine.h"

namespace chaperone {

class AuditClient::Impl {
 public:
  explicit Impl(std::unique_ptr<interceptor::AuditEngine> e) : engine(std::move(e)) {}
  std::unique_ptr<interceptor::AuditEngine> engine;
};

AuditClient::AuditClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditClient::~AuditClient() = default;  // the engine closes itself

Result<std::unique_ptr<AuditClient>> AuditClient::Create(AuditClientOptions options) {
  auto engine = interceptor::AuditEngine::Create(std::move(options));
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<AuditClient>(new AuditClient(std::make_unique<Impl>(std::move(engine).value())));
}

bool AuditClient::Track(std::string_view topic, const MessageView& message) {
  return impl_->engine->Track(topic, message);
}

bool AuditClient::Track(std::string_view topic, std::string_view key, bool key_null, std::string_view value,
                        bool value_null) {
  MessageView m;
  m.key = key;
  m.key_null = key_null;
  m.value = value;
  m.value_null = value_null;
  return impl_->engine->Track(topic, m);
}

void AuditClient::TrackFailedDelivery(int64_t n) { impl_->engine->TrackFailedDelivery(n); }

Status AuditClient::Flush(std::chrono::milliseconds timeout) { return impl_->engine->Flush(timeout); }

Status AuditClient::Close(std::chrono::milliseconds timeout) { return impl_->engine->Close(timeout); }

AuditClientStats AuditClient::stats() const { return impl_->engine->stats(); }

const std::string& AuditClient::tier() const { return impl_->engine->options().tier; }

const std::string& AuditClient::emitter_id() const { return impl_->engine->emitter_id(); }

}  // namespace chaperone
