#include "lib/kafka/group_membership.h"

#include <cstring>
#include <memory>

namespace chaperone::kafka {

namespace {
constexpr char kMagic[] = {'C', 'G', 'M', 'D', 'v', '2', ':'};

// The NUL-terminated string starting at `p`, or nullptr when there is no NUL before `end`.
const char* StringEnd(const char* p, const char* end) {
  const void* nul = std::memchr(p, '\0', static_cast<size_t>(end - p));
  return static_cast<const char*>(nul);
}
}  // namespace

std::optional<GroupMembership> ParseGroupMetadata(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  const char* end = p + size;
  if (data == nullptr || size < sizeof(kMagic) + sizeof(int32_t) + 2) return std::nullopt;
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  p += sizeof(kMagic);
  GroupMembership m;
  std::memcpy(&m.generation, p, sizeof(int32_t));
  p += sizeof(int32_t);
  const char* group_end = StringEnd(p, end);  // the group id
  if (group_end == nullptr) return std::nullopt;
  p = group_end + 1;
  if (p >= end) return std::nullopt;
  const char* member_end = StringEnd(p, end);
  if (member_end == nullptr) return std::nullopt;
  m.member_id.assign(p, member_end);
  if (m.generation < -1) return std::nullopt;
  return m;
}

std::optional<GroupMembership> CurrentGroupMembership(rd_kafka_t* rk) {
  if (rk == nullptr || rd_kafka_type(rk) != RD_KAFKA_CONSUMER) return std::nullopt;
  std::unique_ptr<rd_kafka_consumer_group_metadata_t, decltype(&rd_kafka_consumer_group_metadata_destroy)> md(
      rd_kafka_consumer_group_metadata(rk), &rd_kafka_consumer_group_metadata_destroy);
  if (!md) return GroupMembership{};  // no member id: not (yet) in the group
  void* buf = nullptr;
  size_t size = 0;
  if (rd_kafka_error_t* err = rd_kafka_consumer_group_metadata_write(md.get(), &buf, &size)) {
    rd_kafka_error_destroy(err);
    return std::nullopt;
  }
  std::optional<GroupMembership> m = ParseGroupMetadata(buf, size);
  rd_kafka_mem_free(nullptr, buf);
  return m;
}

}  // namespace chaperone::kafka
