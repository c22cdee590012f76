// Secrets in settings: which values are secret, and how to print a value that
// may hold one. Every log line, error message and listing that shows a
// librdkafka property or a store URL goes through here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chaperone::common {

inline constexpr std::string_view kRedacted = "***";

// True for librdkafka properties whose value is a secret: sasl.password,
// ssl.key.password, ssl.keystore.password, ssl.key.pem,
// sasl.oauthbearer.client.secret, sasl.oauthbearer.config, and any name that
// contains "password" or "secret".
bool IsSecretProperty(std::string_view name);

// A URL with its password replaced by "***": the password of
// "scheme://user:password@host/..." and a "password=" query or keyword value.
std::string RedactUrl(std::string_view url);

// `value` as printable for property `name`: "***" when the property is secret.
std::string RedactProperty(std::string_view name, std::string_view value);

// Replaces every occurrence of each secret in `secrets` (non-empty values of at
// least 3 characters) in `text` by "***": for messages that quote a value.
std::string RedactText(std::string text, const std::vector<std::string>& secrets);

}  // namespace chaperone::common
