#include "chaperone/kafka_config.h"

#include "common/secrets.h"

namespace chaperone {

Result<rd_kafka_conf_t*> BuildKafkaConf(const KafkaProperties& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [name, value] : properties) {
    errstr[0] = '\0';
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // librdkafka may quote the value: never a secret's.
      std::string why = common::IsSecretProperty(name) ? common::RedactText(errstr, {value}) : std::string(errstr);
      return Status::InvalidArgument("kafka property '" + name + "': " + why);
    }
  }
  return conf;
}

bool IsPluginProperty(std::string_view name) {
  return name == "plugin.library.paths" || name.starts_with("interceptor.") || name.starts_with("chaperone.");
}

KafkaProperties WithoutPluginProperties(const KafkaProperties& properties) {
  KafkaProperties out;
  out.reserve(properties.size());
  for (const auto& p : properties) {
    if (!IsPluginProperty(p.first)) out.push_back(p);
  }
  return out;
}

const std::string* FindKafkaProperty(const KafkaProperties& properties, std::string_view name) {
  const std::string* found = nullptr;
  for (const auto& p : properties) {
    if (p.first == name) found = &p.second;
  }
  return found;
}

}  // namespace chaperone
