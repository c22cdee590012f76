// The librdkafka message → MessageView step, in one place: the consumer seam
// (lib/kafka/librdkafka_consumer.h) and the interceptor plugin both audit
// librdkafka messages through it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string_view>

#include "chaperone/event_time.h"

namespace chaperone::kafka {

// MessageView::find_header for a librdkafka message (ctx: the rd_kafka_message_t*).
bool FindLibrdkafkaHeader(const void* ctx, std::string_view name, std::string_view* value);

// kafka::Message::header_at for a librdkafka message (ctx: the rd_kafka_message_t*).
bool LibrdkafkaHeaderAt(const void* ctx, size_t i, std::string_view* name, std::string_view* value, bool* value_null);

// A view of `m`'s key, value, record timestamp and headers; valid while `m` lives.
inline MessageView ToMessageView(const rd_kafka_message_t* m) {
  MessageView v;
  v.key_null = m->key == nullptr;
  if (!v.key_null) v.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  v.value_null = m->payload == nullptr;
  if (!v.value_null) v.value = std::string_view(static_cast<const char*>(m->payload), m->len);
  v.record_timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
  v.headers_ctx = m;
  v.find_header = &FindLibrdkafkaHeader;
  return v;
}

}  // namespace chaperone::kafka
