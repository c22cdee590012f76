// Fuzzes the project file: arbitrary bytes as YAML, then the shared sections
// and the service's, collector's, detector's and reader's sections of it (and
// the reader's --from/--to parse of the same bytes). Nothing may crash or
// throw; every rejection is InvalidArgument with non-empty lines that each
// name where they come from; what is accepted parses the same a second time.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/collector_config.h"
#include "config/project_file.h"
#include "detect/detect_config.h"
#include "read/read_config.h"
#include "read/reader.h"
#include "service/service_config.h"

namespace {

void CheckRejection(const chaperone::Status& s) {
  if (s.code() != chaperone::Status::Code::kInvalidArgument) std::abort();
  if (s.message().empty()) std::abort();
  size_t start = 0;
  while (start <= s.message().size()) {
    size_t nl = s.message().find('\n', start);
    if (nl == start) std::abort();  // an empty error line
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto when = chaperone::read::ParseTimeMs(text);
  if (!when.ok()) CheckRejection(when.status());
  auto file = chaperone::config::ParseProject(text, "fuzz.yaml");
  if (!file.ok()) {
    CheckRejection(file.status());
    return 0;
  }
  chaperone::config::Errors errors;
  chaperone::config::ParseClusters(*file, errors);
  chaperone::config::ParseStoreSection(*file, errors);
  if (!errors.empty()) CheckRejection(errors.ToStatus());
  auto service = chaperone::service::ParseServiceConfig(*file);
  if (!service.ok()) CheckRejection(service.status());
  auto collector = chaperone::collector::ParseCollectorConfig(*file);
  if (!collector.ok()) CheckRejection(collector.status());
  auto detect = chaperone::detect::ParseDetectConfig(*file);
  if (!detect.ok()) {
    CheckRejection(detect.status());
  } else {
    // Every rule the parse accepted compiles: RuleFor matches without throwing.
    (void)detect->RuleFor("orders");
  }
  auto read = chaperone::read::ParseReadConfig(*file);
  if (!read.ok()) CheckRejection(read.status());
  // Parsing is a function of the text.
  auto again = chaperone::service::ParseServiceConfig(text, "fuzz.yaml");
  if (again.ok() != service.ok()) std::abort();
  return 0;
}
