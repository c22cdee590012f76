// The librdkafka seam: building client configurations from Chaperone's
// key/value properties. Every component creates its librdkafka handles through
// here, so property errors read the same everywhere.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chaperone/status.h"

namespace chaperone {

// librdkafka properties, applied in order (a later value overrides an earlier one).
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// A new rd_kafka_conf_t with every property set; the caller owns it (pass it to
// rd_kafka_new, or rd_kafka_conf_destroy it). Errors are InvalidArgument and
// name the property: "kafka property 'acks': Invalid value ...".
Result<rd_kafka_conf_t*> BuildKafkaConf(const KafkaProperties& properties);

// True for properties that load code into the process (plugin.library.paths)
// or belong to an interceptor plugin rather than to librdkafka ("interceptor.*",
// "chaperone.*"). Chaperone's own clients never accept these: they may run
// inside the interceptor plugin, where loading a plugin again would recurse.
bool IsPluginProperty(std::string_view name);

// Returns `properties` without the plugin properties above.
KafkaProperties WithoutPluginProperties(const KafkaProperties& properties);

// The value of the last occurrence of `name`, or nullptr.
const std::string* FindKafkaProperty(const KafkaProperties& properties, std::string_view name);

}  // namespace chaperone
