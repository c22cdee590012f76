// TimestampChain and TimestampRules (docs/event-time.md).
#include "chaperone/event_time.h"

#include <fmt/format.h>

#include <regex>

#include "lib/extract/json_scan.h"
#include "lib/extract/time_parse.h"

namespace chaperone {

namespace {

constexpr std::string_view kJsonPrefix = "json:";
constexpr std::string_view kHeaderPrefix = "header:";
constexpr std::string_view kRecord = "record";
constexpr std::string_view kDefaultSpec = "json:ts,json:timestamp,record";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Why `name` (a JSON field or a header name) is unusable, or "" when it is fine.
std::string CheckName(std::string_view name, std::string_view what) {
  if (name.empty()) return fmt::format("has an empty {}", what);
  if (name.size() > TimestampChain::kMaxNameBytes) {
    return fmt::format("has a {} longer than {} bytes", what, TimestampChain::kMaxNameBytes);
  }
  if (IsSpace(name.front()) || IsSpace(name.back())) {
    return fmt::format("has a {} with leading or trailing whitespace", what);
  }
  return "";
}

}  // namespace

struct TimestampChain::Impl {
  enum class Kind { kJson, kHeader, kRecord };

  struct Source {
    Kind kind;
    std::vector<std::string> fields;  // kJson: the path, as written
    std::string header;               // kHeader
  };

  // What Extract() runs: consecutive json: sources share one scan.
  struct Step {
    Kind kind;
    std::vector<extract::JsonPath> paths;  // kJson, lowercased
    std::string header;                    // kHeader
  };

  std::vector<Source> sources;
  std::vector<Step> steps;
};

TimestampChain::TimestampChain() : impl_(Default().impl_) {}

Result<TimestampChain> TimestampChain::Parse(std::string_view spec) {
  auto impl = std::make_shared<Impl>();
  if (Trim(spec).empty()) {
    return Status::InvalidArgument(
        "timestamp chain is empty: expected sources such as \"json:ts,json:timestamp,record\"");
  }
  size_t index = 0;
  size_t pos = 0;
  for (;;) {
    const size_t comma = spec.find(',', pos);
    const std::string_view item = Trim(spec.substr(pos, comma == std::string_view::npos ? spec.npos : comma - pos));
    ++index;
    auto fail = [&](std::string_view why) {
      return Status::InvalidArgument(
          fmt::format("timestamp chain \"{}\": source {} (\"{}\") {}", spec, index, item, why));
    };
    if (index > kMaxSources) {
      return Status::InvalidArgument(
          fmt::format("timestamp chain \"{}\" has more than {} sources", spec, kMaxSources));
    }

    Impl::Source source;
    if (item.empty()) {
      return fail("is empty");
    } else if (item == kRecord) {
      source.kind = Impl::Kind::kRecord;
    } else if (item.starts_with(kJsonPrefix)) {
      source.kind = Impl::Kind::kJson;
      const std::string_view path = item.substr(kJsonPrefix.size());
      if (path.empty()) return fail("has an empty field name (expected json:<field> or json:<a.b.c>)");
      size_t start = 0;
      for (;;) {
        const size_t dot = path.find('.', start);
        const std::string_view field = path.substr(start, dot == path.npos ? path.npos : dot - start);
        if (std::string why = CheckName(field, "field name in its path"); !why.empty()) return fail(why);
        source.fields.emplace_back(field);
        if (dot == path.npos) break;
        start = dot + 1;
      }
      if (source.fields.size() > kMaxPathDepth) {
        return fail(fmt::format("has a path deeper than {} fields", kMaxPathDepth));
      }
    } else if (item.starts_with(kHeaderPrefix)) {
      source.kind = Impl::Kind::kHeader;
      source.header = std::string(item.substr(kHeaderPrefix.size()));
      if (std::string why = CheckName(source.header, "header name"); !why.empty()) return fail(why);
    } else if (item.starts_with(kRecord)) {
      return fail("is not a source: \"record\" takes no argument");
    } else {
      return fail("is not a source: expected json:<field>, json:<a.b.c>, header:<name> or record");
    }
    impl->sources.push_back(std::move(source));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }

  for (const Impl::Source& source : impl->sources) {
    if (source.kind == Impl::Kind::kJson && !impl->steps.empty() && impl->steps.back().kind == Impl::Kind::kJson) {
      // Joins the previous json: step (at most kMaxSources <= kMaxScanPaths paths).
    } else {
      impl->steps.push_back(Impl::Step{source.kind, {}, source.header});
    }
    if (source.kind == Impl::Kind::kJson) {
      extract::JsonPath path;
      for (const std::string& field : source.fields) path.fields.push_back(LowerAscii(field));
      impl->steps.back().paths.push_back(std::move(path));
    }
  }
  static_assert(kMaxSources <= extract::kMaxScanPaths);
  return TimestampChain(std::move(impl));
}

const TimestampChain& TimestampChain::Default() {
  static const TimestampChain* const kDefault = new TimestampChain(Parse(kDefaultSpec).value());
  return *kDefault;
}

EventTime TimestampChain::Extract(const MessageView& m) const {
  EventTime r;
  for (const Impl::Step& step : impl_->steps) {
    switch (step.kind) {
      case Impl::Kind::kJson: {
        if (m.value_null) break;  // a tombstone has no payload to read
        const extract::JsonScanResult j = extract::ScanJsonForEventTime(m.value, step.paths.data(), step.paths.size());
        r.malformed |= j.malformed;
        if (j.path >= 0) {
          r.ms = j.ms;
          r.found = true;
          return r;
        }
        break;
      }
      case Impl::Kind::kHeader: {
        std::string_view value;
        if (m.find_header == nullptr || !m.find_header(m.headers_ctx, step.header, &value)) break;
        if (std::optional<int64_t> ms = extract::EpochMsFromText(value)) {
          r.ms = *ms;
          r.found = true;
          return r;
        }
        break;
      }
      case Impl::Kind::kRecord:
        if (m.record_timestamp_ms >= 0) {
          r.ms = m.record_timestamp_ms;
          r.found = true;
          return r;
        }
        break;
    }
  }
  return r;
}

std::string TimestampChain::ToString() const {
  std::string out;
  for (const Impl::Source& source : impl_->sources) {
    if (!out.empty()) out += ',';
    switch (source.kind) {
      case Impl::Kind::kJson:
        out += kJsonPrefix;
        for (size_t i = 0; i < source.fields.size(); ++i) {
          if (i > 0) out += '.';
          out += source.fields[i];
        }
        break;
      case Impl::Kind::kHeader:
        out += kHeaderPrefix;
        out += source.header;
        break;
      case Impl::Kind::kRecord:
        out += kRecord;
        break;
    }
  }
  return out;
}

struct TimestampRules::Rule {
  std::string pattern;
  std::regex regex;
  TimestampChain chain;
};

Status TimestampRules::Add(std::string_view topic_regex, std::string_view chain_spec) {
  Result<TimestampChain> chain = TimestampChain::Parse(chain_spec);
  if (!chain.ok()) {
    return Status::InvalidArgument(
        fmt::format("timestamp rule for topics \"{}\": {}", topic_regex, chain.status().message()));
  }
  if (topic_regex.empty()) return Status::InvalidArgument("timestamp rule: the topic regex is empty");
  std::regex regex;
  try {
    regex = std::regex(topic_regex.begin(), topic_regex.end(), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(fmt::format("timestamp rule: topic regex \"{}\" is invalid: {}", topic_regex, e.what()));
  }
  rules_.push_back(std::make_shared<const Rule>(Rule{std::string(topic_regex), std::move(regex), std::move(*chain)}));
  return Status::Ok();
}

const TimestampChain& TimestampRules::ForTopic(std::string_view topic) const {
  for (const std::shared_ptr<const Rule>& rule : rules_) {
    if (std::regex_match(topic.begin(), topic.end(), rule->regex)) return rule->chain;
  }
  return TimestampChain::Default();
}

}  // namespace chaperone
