// Base64 (RFC 4648 §4, standard alphabet "A-Za-z0-9+/") for binary payloads that
// travel inside JSON, such as encoded latency sketches.
//
// Encode always pads with '='. Decode accepts padded and unpadded input, and
// rejects everything else with a message naming the offending position:
// characters outside the alphabet (including whitespace and the URL-safe
// alphabet), misplaced padding, an impossible length (4n+1) and non-zero
// trailing bits (so every byte string has exactly one accepted encoding).
#pragma once

#include <string>
#include <string_view>

#include "chaperone/status.h"

namespace chaperone::util {

std::string Base64Encode(std::string_view bytes);

// Appends the encoding of `bytes` to `*out`.
void Base64EncodeTo(std::string_view bytes, std::string* out);

Result<std::string> Base64Decode(std::string_view text);

}  // namespace chaperone::util
