#include "read/output.h"

#include "lib/record/json_writer.h"
#include "lib/util/base64.h"

#include <cstdio>

namespace chaperone::read {
namespace {

// "name":"text", or "nameBase64":"..." for bytes that are not UTF-8; null when absent.
void AppendBytes(json::ObjectWriter& w, std::string& out, const char* name, const char* name64, std::string_view bytes,
                 bool null) {
  if (null) {
    w.Key(name);
    out.append("null");
  } else if (json::IsValidUtf8(bytes)) {
    w.String(name, bytes);
  } else {
    w.Key(name64);
    out.push_back('"');
    util::Base64EncodeTo(bytes, &out);
    out.push_back('"');
  }
}

}  // namespace

void AppendMessageJson(const ReadMessage& m, std::string* out) {
  const kafka::Message& msg = m.message;
  json::ObjectWriter w(*out);
  w.String("cluster", m.cluster);
  w.String("datacenter", m.datacenter);
  w.Int("partition", msg.partition);
  w.Int("offset", msg.offset);
  w.Int("timestamp", msg.view.record_timestamp_ms);
  w.Int("eventTime", m.event_ms);
  AppendBytes(w, *out, "key", "keyBase64", msg.view.key, msg.view.key_null);
  AppendBytes(w, *out, "value", "valueBase64", msg.view.value, msg.view.value_null);
  if (msg.header_at) {
    std::string_view name, value;
    bool value_null = false;
    size_t i = 0;
    for (; msg.header_at(msg.header_ctx, i, &name, &value, &value_null); ++i) {
      if (i == 0) {
        w.Key("headers");
        out->push_back('[');
      } else {
        out->push_back(',');
      }
      json::ObjectWriter h(*out);
      h.String("name", name);
      AppendBytes(h, *out, "value", "valueBase64", value, value_null);
      h.Close();
    }
    if (i > 0) out->push_back(']');
  }
  w.Close();
  out->push_back('\n');
}

void AppendDiffItemJson(const DiffItem& item, std::string* out) {
  json::ObjectWriter w(*out);
  w.String("kind", DiffKindName(item.kind));
  w.Int("copies", item.copies);
  w.Int("sourceCopies", item.source_copies);
  w.Int("targetCopies", item.target_copies);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(item.digest));
  w.String("digest", hex);
  for (const auto& [name, copies] : {std::pair{"source", &item.source}, std::pair{"target", &item.target}}) {
    w.Key(name);
    out->push_back('[');
    for (size_t i = 0; i < copies->size(); ++i) {
      const DiffCopy& c = (*copies)[i];
      if (i > 0) out->push_back(',');
      json::ObjectWriter cw(*out);
      cw.String("cluster", c.cluster);
      cw.String("datacenter", c.datacenter);
      cw.Int("partition", c.partition);
      cw.Int("offset", c.offset);
      if (c.have_message) {
        cw.Int("timestamp", c.timestamp_ms);
        AppendBytes(cw, *out, "key", "keyBase64", c.key.value_or(""), !c.key);
        AppendBytes(cw, *out, "value", "valueBase64", c.value.value_or(""), !c.value);
        if (!c.headers.empty()) {
          cw.Key("headers");
          out->push_back('[');
          for (size_t h = 0; h < c.headers.size(); ++h) {
            if (h > 0) out->push_back(',');
            json::ObjectWriter hw(*out);
            hw.String("name", c.headers[h].first);
            AppendBytes(hw, *out, "value", "valueBase64", c.headers[h].second, false);
            hw.Close();
          }
          out->push_back(']');
        }
      }
      cw.Close();
    }
    out->push_back(']');
  }
  w.Close();
  out->push_back('\n');
}

void AppendMessageRaw(const ReadMessage& m, std::string* out) {
  out->append(m.message.view.value);
  out->push_back('\n');
}

}  // namespace chaperone::read
