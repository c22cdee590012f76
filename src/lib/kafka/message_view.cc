#include "lib/kafka/message_view.h"

#include <cstring>

namespace chaperone::kafka {

bool FindLibrdkafkaHeader(const void* ctx, std::string_view name, std::string_view* value) {
  auto* m = static_cast<rd_kafka_message_t*>(const_cast<void*>(ctx));
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == nullptr) return false;
  // librdkafka wants a NUL-terminated name; the chain's names are short.
  char cname[TimestampChain::kMaxNameBytes + 1];
  if (name.size() > TimestampChain::kMaxNameBytes) return false;
  std::memcpy(cname, name.data(), name.size());
  cname[name.size()] = '\0';
  const void* v = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, cname, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || v == nullptr) return false;
  *value = std::string_view(static_cast<const char*>(v), size);
  return true;
}

bool LibrdkafkaHeaderAt(const void* ctx, size_t i, std::string_view* name, std::string_view* value, bool* value_null) {
  auto* m = static_cast<rd_kafka_message_t*>(const_cast<void*>(ctx));
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == nullptr) return false;
  const char* n = nullptr;
  const void* v = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_all(hdrs, i, &n, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  *name = n;
  *value_null = v == nullptr;
  *value = v ? std::string_view(static_cast<const char*>(v), size) : std::string_view();
  return true;
}

}  // namespace chaperone::kafka
