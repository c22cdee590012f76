#include "common/topic_name.h"

#include <algorithm>

namespace chaperone::common {

Status ValidateTopicName(std::string_view topic) {
  if (topic.empty()) return Status::InvalidArgument("a topic name must not be empty");
  if (topic.size() > kMaxTopicNameLength) return Status::InvalidArgument("a topic name is at most 249 characters");
  if (topic == "." || topic == "..") return Status::InvalidArgument("'.' and '..' are not topic names");
  bool legal = std::all_of(topic.begin(), topic.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
  if (!legal) return Status::InvalidArgument("topic names use only [a-zA-Z0-9._-]");
  return Status::Ok();
}

}  // namespace chaperone::common
