// A small streaming JSON writer for API responses: no DOM, one pass, one
// string buffer. Strings are escaped and invalid UTF-8 is replaced by U+FFFD,
// so anything stored (topic names, raw quarantined records) serialises safely;
// non-finite doubles are written as null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chaperone::web {

class JsonWriter {
 public:
  JsonWriter() { out_.reserve(4096); }

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // Inside an object: the next value's name.
  JsonWriter& Key(std::string_view k);

  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();

  // Key + value shorthands.
  JsonWriter& Field(std::string_view k, std::string_view v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, const char* v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, const std::string& v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, int64_t v) { return Key(k).Int(v); }
  JsonWriter& Field(std::string_view k, int v) { return Key(k).Int(v); }
  JsonWriter& Field(std::string_view k, double v) { return Key(k).Double(v); }
  JsonWriter& Field(std::string_view k, bool v) { return Key(k).Bool(v); }
  JsonWriter& Field(std::string_view k, const std::optional<int64_t>& v) { return v ? Key(k).Int(*v) : Key(k).Null(); }
  JsonWriter& Field(std::string_view k, const std::optional<double>& v) {
    return v ? Key(k).Double(*v) : Key(k).Null();
  }
  JsonWriter& Field(std::string_view k, const std::optional<bool>& v) { return v ? Key(k).Bool(*v) : Key(k).Null(); }
  JsonWriter& Field(std::string_view k, const std::optional<std::string>& v) {
    return v ? Key(k).String(*v) : Key(k).Null();
  }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();  // writes ',' between values of an array/object as needed

  std::string out_;
  // Per open container: whether it already holds a value.
  std::vector<bool> has_value_;
  bool after_key_ = false;
};

// Appends `s` to `out` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace chaperone::web
