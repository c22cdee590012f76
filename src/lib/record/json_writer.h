// A small append-only writer for compact JSON: what the audit-record encoder
// needs and nothing more. Always produces valid JSON: strings are escaped and
// invalid UTF-8 is replaced by U+FFFD; non-finite doubles are written as 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chaperone::json {

// True when `s` is valid UTF-8 (AppendString then writes it unchanged).
bool IsValidUtf8(std::string_view s);

// Appends `s` as a JSON string literal (with quotes).
void AppendString(std::string& out, std::string_view s);
void AppendInt(std::string& out, int64_t v);
// Shortest representation that parses back to the same double; always has a
// '.' or an exponent, so readers see a floating-point number.
void AppendDouble(std::string& out, double v);

// Writes one object's members; the caller opens and closes the braces.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  void Key(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.push_back('"');
    out_.append(key);  // keys are ASCII literals of our own
    out_.append("\":", 2);
  }
  void String(std::string_view key, std::string_view v) {
    Key(key);
    AppendString(out_, v);
  }
  void Int(std::string_view key, int64_t v) {
    Key(key);
    AppendInt(out_, v);
  }
  void Double(std::string_view key, double v) {
    Key(key);
    AppendDouble(out_, v);
  }
  void Close() { out_.push_back('}'); }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace chaperone::json
