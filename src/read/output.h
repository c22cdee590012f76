// How `chaperone read` (and the web API's diff) writes a message: one JSON
// object per line, or the raw value.
#pragma once

#include <string>

#include "read/diff.h"
#include "read/reader.h"

namespace chaperone::read {

// Appends one JSON object and a newline:
//   {"cluster":..,"datacenter":..,"partition":3,"offset":1207,"timestamp":<record ms>,
//    "eventTime":<ms>,"key":"text"|null,"value":"text"|null,"headers":[{"name":..,"value":..}]}
// A key, value or header value that is not valid UTF-8 is written as
// "keyBase64" / "valueBase64" / "valueBase64" (standard alphabet) instead.
void AppendMessageJson(const ReadMessage& m, std::string* out);

// Appends the value's bytes and a newline (a tombstone: an empty line).
void AppendMessageRaw(const ReadMessage& m, std::string* out);

// Appends one differing digest as a JSON object and a newline:
//   {"kind":"missing","copies":1,"sourceCopies":1,"targetCopies":0,"digest":"<16 hex>",
//    "source":[{"cluster":..,"datacenter":..,"partition":..,"offset":..,
//               "timestamp":..,"key":..,"value":..,"headers":[..]}],"target":[..]}
// (the message fields only for copies read again; bytes as in AppendMessageJson).
void AppendDiffItemJson(const DiffItem& item, std::string* out);

}  // namespace chaperone::read
