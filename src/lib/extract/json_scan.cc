#include "lib/extract/json_scan.h"

#include <cstring>
#include <optional>

// SSE2 is part of x86-64; elsewhere the portable loops run. Defining
// CHAPERONE_JSON_SCAN_SCALAR forces the portable loops, to test them on x86.
#if defined(__SSE2__) && !defined(CHAPERONE_JSON_SCAN_SCALAR)
#include <emmintrin.h>
#endif

#include "chaperone/event_time.h"
#include "lib/extract/time_parse.h"

namespace chaperone::extract {

namespace {

inline bool IsWs(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }
// Bytes that may follow a number inside an object or array.
inline bool EndsNumber(char c) { return IsWs(c) || c == ',' || c == '}' || c == ']'; }

inline char LowerAscii(char c) {
  return static_cast<unsigned char>(c - 'A') < 26 ? static_cast<char>(c | 0x20) : c;
}

// `lowered` is already ASCII-lowercase.
inline bool EqualsFolded(const char* key, const char* lowered, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (LowerAscii(key[i]) != lowered[i]) return false;
  }
  return true;
}

inline int LowestBit(uint32_t m) { return __builtin_ctz(m); }

int Hex4(const char* p) {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    v = v * 16 + d;
  }
  return v;
}

// Byte classes for the scalar fallbacks (and the tails of short payloads
// where a vector load would not fit).
struct ByteClasses {
  bool quote_or_backslash[256] = {};
  constexpr ByteClasses() {
    quote_or_backslash[static_cast<unsigned char>('"')] = true;
    quote_or_backslash[static_cast<unsigned char>('\\')] = true;
  }
};
constexpr ByteClasses kClasses;

// One 64-byte block as bitmasks, bit i for byte i.
struct BlockMasks {
  uint64_t quote = 0;
  uint64_t backslash = 0;
  uint64_t bracket = 0;  // { } [ ], plus Y _ y DEL, which callers ignore
};

inline BlockMasks ComputeBlockMasks(const char* block) {
  BlockMasks m;
#if defined(__SSE2__) && !defined(CHAPERONE_JSON_SCAN_SCALAR)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  // { } [ ] are the bytes b with (b & 0xD9) == 0x59 (so are Y _ y DEL).
  const __m128i fold = _mm_set1_epi8(static_cast<char>(0xD9));
  const __m128i bracket = _mm_set1_epi8(0x59);
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * k));
    const int shift = 16 * k;
    m.quote |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)))) << shift;
    m.backslash |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash))))
                   << shift;
    m.bracket |=
        static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, fold), bracket))))
        << shift;
  }
#else
  for (int i = 0; i < 64; ++i) {
    const char c = block[i];
    const uint64_t bit = uint64_t{1} << i;
    if (c == '"') m.quote |= bit;
    if (c == '\\') m.backslash |= bit;
    if (c == '{' || c == '}' || c == '[' || c == ']') m.bracket |= bit;
  }
#endif
  return m;
}

// Bit i of the result is the XOR of bits 0..i of x: 1 for the bytes from an
// opening quote up to (not including) its closing quote.
inline uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

class Scanner {
 public:
  Scanner(std::string_view payload, const JsonPath* paths, size_t count)
      : begin_(payload.data()),
        p_(payload.data()),
        end_(payload.data() + payload.size()),
        paths_(paths),
        pending_(static_cast<uint32_t>((uint64_t{1} << count) - 1)) {}

  JsonScanResult Run() {
    JsonScanResult r;
    if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;  // UTF-8 byte order mark
    SkipWs();
    Outcome o = Outcome::kError;
    if (p_ != end_ && *p_ == '{') {
      ++p_;
      o = ScanObject(0, pending_);
    }
    if (o == Outcome::kEnd) {
      // The whole object was read: only whitespace may follow it.
      SkipWs();
      if (p_ != end_) o = Outcome::kError;
    }
    r.malformed = o == Outcome::kError;
    // Sources still pending at an error have failed, so in every outcome the
    // answer is the first source with a usable value.
    if (usable_ != 0) {
      r.path = LowestBit(usable_);
      r.ms = ms_[r.path];
    }
    return r;
  }

 private:
  enum class Outcome { kEnd, kStop, kError };

  // True when no source before the first usable one is still pending.
  bool Determined() const {
    if (usable_ == 0) return pending_ == 0;
    const uint32_t before = (usable_ & (~usable_ + 1)) - 1;
    return (pending_ & before) == 0;
  }

  void SkipWs() {
    while (p_ < end_ && IsWs(*p_)) ++p_;
  }

  // First '"' or '\\' at or after p, or end_.
  const char* FindQuoteOrBackslash(const char* p) const {
#if defined(__SSE2__) && !defined(CHAPERONE_JSON_SCAN_SCALAR)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    auto mask_of = [&](const char* at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      return static_cast<uint32_t>(
          _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
    };
    while (end_ - p >= 16) {
      const uint32_t m = mask_of(p);
      if (m != 0) return p + __builtin_ctz(m);
      p += 16;
    }
    if (p < end_ && end_ - begin_ >= 16) {
      // Fewer than 16 bytes left: load the payload's last 16 bytes and drop
      // those before p, rather than reading past the end.
      const char* base = end_ - 16;
      const uint32_t m = mask_of(base) >> (p - base);
      return m != 0 ? p + __builtin_ctz(m) : end_;
    }
#endif
    while (p < end_ && !kClasses.quote_or_backslash[static_cast<unsigned char>(*p)]) ++p;
    return p;
  }

  // p is just after an opening quote. Returns the closing quote, or end_ when
  // the string is not terminated. Escapes are skipped, not checked.
  const char* FindStringEnd(const char* p, bool* escaped) const {
    const char* q = FindQuoteOrBackslash(p);
    while (q != end_ && *q == '\\') {
      *escaped = true;
      if (end_ - q <= 2) return end_;
      q = FindQuoteOrBackslash(q + 2);
    }
    return q;
  }

  // p_ at '{' or '['. Moves p_ past the matching bracket.
  //
  // Works on 64-byte blocks, as bitmasks with one bit per byte: quotes that
  // are not escaped open and close strings, a prefix XOR of them marks the
  // bytes inside strings, and only the brackets outside strings are then
  // looked at one by one. Strings and scalars cost no branches at all.
  bool SkipContainer() {
    uint64_t is_object[kMaxNesting / 64];  // bit d: the container at depth d is an object
    int depth = 0;
    uint64_t in_string = 0;     // all ones when a string is open at the start of the block
    uint64_t escape_carry = 0;  // 1 when the block starts with an escaped byte
    char tail[64];
    for (const char* p = p_; p < end_; p += 64) {
      const char* block = p;
      if (end_ - p < 64) {
        // The last, partial block: work on a zero-padded copy (zero bytes
        // match nothing) rather than read past the payload.
        const size_t n = static_cast<size_t>(end_ - p);
        std::memcpy(tail, p, n);
        std::memset(tail + n, 0, sizeof tail - n);
        block = tail;
      }
      BlockMasks masks = ComputeBlockMasks(block);
      // A backslash escapes the next byte unless it is escaped itself.
      // Backslashes are rare, so they are walked one by one.
      uint64_t escaped = escape_carry;
      escape_carry = 0;
      for (uint64_t b = masks.backslash & ~escaped; b != 0; b &= b - 1) {
        const int i = __builtin_ctzll(b);
        if ((escaped >> i) & 1) continue;
        if (i == 63) {
          escape_carry = 1;
        } else {
          escaped |= uint64_t{2} << i;
        }
      }
      const uint64_t inside = PrefixXor(masks.quote & ~escaped) ^ in_string;
      in_string = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
      for (uint64_t m = masks.bracket & ~inside; m != 0; m &= m - 1) {
        const int i = __builtin_ctzll(m);
        const char c = block[i];
        if (c == '{' || c == '[') {
          if (depth == kMaxNesting) return false;
          const uint64_t bit = uint64_t{1} << (depth & 63);
          uint64_t& word = is_object[depth >> 6];
          const uint64_t below = (depth & 63) == 0 ? 0 : (word & (bit - 1));  // a new word starts empty
          word = c == '{' ? (below | bit) : below;
          ++depth;
        } else if (c == '}' || c == ']') {
          if (depth == 0) return false;
          --depth;
          const bool object = (is_object[depth >> 6] >> (depth & 63)) & 1;
          if (object != (c == '}')) return false;
          if (depth == 0) {
            p_ = p + i + 1;
            return true;
          }
        }
      }
    }
    return false;
  }

  bool SkipLiteral(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // p_ at the first byte of a value. Moves p_ past it. What follows the value
  // is checked by the caller.
  bool SkipValue() {
    switch (*p_) {
      case '"': {
        bool escaped = false;
        const char* q = FindStringEnd(p_ + 1, &escaped);
        if (q == end_) return false;
        p_ = q + 1;
        return true;
      }
      case '{':
      case '[':
        return SkipContainer();
      case 't':
        return SkipLiteral("true");
      case 'f':
        return SkipLiteral("false");
      case 'n':
        return SkipLiteral("null");
      default: {
        Decimal d;
        const char* q = ParseJsonNumber(p_, end_, &d);
        if (q == nullptr) return false;
        p_ = q;
        return true;
      }
    }
  }

  // p_ at a string or a number wanted as an event time. Moves p_ past it and
  // sets *ms when it is a usable event time.
  bool ReadEventTime(std::optional<int64_t>* ms) {
    if (*p_ == '"') {
      bool escaped = false;
      const char* q = FindStringEnd(p_ + 1, &escaped);
      if (q == end_) return false;
      std::string_view text(p_ + 1, static_cast<size_t>(q - p_ - 1));
      p_ = q + 1;
      if (!escaped) {
        *ms = EpochMsFromText(text);
        return true;
      }
      char buf[64];  // longer than any date-time or number worth reading
      const ptrdiff_t n = DecodeJsonString(text, buf, sizeof buf);
      if (n == kDecodeInvalid) return false;
      if (n >= 0) *ms = EpochMsFromText(std::string_view(buf, static_cast<size_t>(n)));
      return true;
    }
    Decimal d;
    const char* q = ParseJsonNumber(p_, end_, &d);
    // A number must be followed by something, or it may have been cut short.
    if (q == nullptr || q == end_ || !EndsNumber(*q)) return false;
    p_ = q;
    *ms = EpochMsFromDecimal(d);
    return true;
  }

  // The sources in `active` whose field at `depth` is `raw` (the key's bytes
  // between its quotes). Sets *bad for an invalid escape in the key.
  uint32_t MatchKey(std::string_view raw, bool escaped, size_t depth, uint32_t active, bool* bad) const {
    if (escaped) return MatchEscapedKey(raw, depth, active, bad);
    return MatchDecodedKey(raw, depth, active);
  }

  uint32_t MatchDecodedKey(std::string_view key, size_t depth, uint32_t active) const {
    uint32_t matched = 0;
    for (uint32_t m = active; m != 0; m &= m - 1) {
      const int i = LowestBit(m);
      const std::string& field = paths_[i].fields[depth];
      if (field.size() == key.size() && EqualsFolded(key.data(), field.data(), key.size())) {
        matched |= uint32_t{1} << i;
      }
    }
    return matched;
  }

  // Keys with escapes are rare: decoded out of the hot path.
  [[gnu::noinline]] uint32_t MatchEscapedKey(std::string_view raw, size_t depth, uint32_t active, bool* bad) const {
    char buf[TimestampChain::kMaxNameBytes];
    const ptrdiff_t n = DecodeJsonString(raw, buf, sizeof buf);
    if (n == kDecodeInvalid) {
      *bad = true;
      return 0;
    }
    if (n == kDecodeTooLong) return 0;  // longer than any field name
    return MatchDecodedKey(std::string_view(buf, static_cast<size_t>(n)), depth, active);
  }

  // p_ just after the '{' of an object at `depth` (0: the payload itself).
  // `active`: the pending sources whose fields before `depth` led here; they
  // look for their field `depth` in this object.
  Outcome ScanObject(size_t depth, uint32_t active) {
    SkipWs();
    if (p_ == end_) return Outcome::kError;
    if (*p_ == '}') {
      ++p_;
      pending_ &= ~active;  // not found
      return Outcome::kEnd;
    }
    for (;;) {
      if (*p_ != '"') return Outcome::kError;
      bool escaped = false;
      const char* key_end = FindStringEnd(p_ + 1, &escaped);
      if (key_end == end_) return Outcome::kError;
      const std::string_view raw(p_ + 1, static_cast<size_t>(key_end - p_ - 1));
      p_ = key_end + 1;
      SkipWs();
      if (p_ == end_ || *p_ != ':') return Outcome::kError;
      ++p_;
      SkipWs();
      if (p_ == end_) return Outcome::kError;

      uint32_t matched = 0;
      if (active != 0) {
        bool bad = false;
        matched = MatchKey(raw, escaped, depth, active, &bad);
        if (bad) return Outcome::kError;
      }
      if (matched == 0) {
        if (!SkipValue()) return Outcome::kError;
      } else {
        // Each source looks at the first occurrence of its field only.
        active &= ~matched;
        uint32_t leaves = 0;
        for (uint32_t m = matched; m != 0; m &= m - 1) {
          const int i = LowestBit(m);
          if (paths_[i].fields.size() == depth + 1) leaves |= uint32_t{1} << i;
        }
        const uint32_t inner = matched & ~leaves;
        const char c = *p_;
        if (c == '{' && inner != 0) {
          pending_ &= ~leaves;  // an object is no event time
          ++p_;
          const Outcome o = ScanObject(depth + 1, inner);
          if (o != Outcome::kEnd) return o;
        } else if (leaves != 0 && (c == '"' || c == '-' || IsDigit(c))) {
          std::optional<int64_t> ms;
          if (!ReadEventTime(&ms)) return Outcome::kError;
          pending_ &= ~matched;
          if (ms) {
            usable_ |= leaves;
            for (uint32_t m = leaves; m != 0; m &= m - 1) ms_[LowestBit(m)] = *ms;
          }
        } else {
          pending_ &= ~matched;  // no usable value, or no object to descend into
          if (!SkipValue()) return Outcome::kError;
        }
        if (Determined()) return Outcome::kStop;
      }
      SkipWs();
      if (p_ == end_) return Outcome::kError;
      if (*p_ == '}') {
        ++p_;
        pending_ &= ~active;  // not found
        return Outcome::kEnd;
      }
      if (*p_ != ',') return Outcome::kError;
      ++p_;
      SkipWs();
      if (p_ == end_) return Outcome::kError;
    }
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  const JsonPath* const paths_;
  uint32_t pending_;     // sources not decided yet
  uint32_t usable_ = 0;  // sources whose value is a usable event time
  int64_t ms_[kMaxScanPaths];
};

}  // namespace

namespace {

// The common shape, answered without the general scanner: the object's first
// key is the first path (a single field), written without escapes, and its
// value a number that is a usable event time: {"ts":1795303800123,...
// nullopt for any other shape, which the general scanner then decides. The
// answer is the general scanner's: path 0 wins as soon as it is usable, which
// it knows right after the number (whose next byte must end a number).
std::optional<JsonScanResult> ScanFirstKeyFast(std::string_view payload, const JsonPath* paths) {
  const JsonPath& first = paths[0];
  if (first.fields.size() != 1) return std::nullopt;
  const std::string& name = first.fields[0];
  const size_t n = name.size();
  if (payload.size() < n + 5 || payload[0] != '{' || payload[1] != '"' || payload[n + 2] != '"' ||
      payload[n + 3] != ':' || !IsDigit(payload[n + 4])) {
    return std::nullopt;
  }
  const char* key = payload.data() + 2;
  for (size_t i = 0; i < n; ++i) {
    // No quote (the key would end there) and no escape inside the key.
    if (key[i] == '"' || key[i] == '\\' || LowerAscii(key[i]) != name[i]) return std::nullopt;
  }
  const char* end = payload.data() + payload.size();
  Decimal d;
  const char* q = ParseJsonNumber(key + n + 2, end, &d);
  if (q == nullptr || q == end || !EndsNumber(*q)) return std::nullopt;
  const std::optional<int64_t> ms = EpochMsFromDecimal(d);
  if (!ms) return std::nullopt;
  JsonScanResult r;
  r.path = 0;
  r.ms = *ms;
  return r;
}

}  // namespace

JsonScanResult ScanJsonForEventTime(std::string_view payload, const JsonPath* paths, size_t count) {
  if (count == 0 || count > kMaxScanPaths) return JsonScanResult{};
  if (std::optional<JsonScanResult> fast = ScanFirstKeyFast(payload, paths)) return *fast;
  return Scanner(payload, paths, count).Run();
}

JsonScanResult ScanJsonForEventTimeGeneral(std::string_view payload, const JsonPath* paths, size_t count) {
  if (count == 0 || count > kMaxScanPaths) return JsonScanResult{};
  return Scanner(payload, paths, count).Run();
}

ptrdiff_t DecodeJsonString(std::string_view raw, char* out, size_t cap) {
  size_t n = 0;
  auto put = [&](uint32_t byte) {
    if (n == cap) return false;
    out[n++] = static_cast<char>(byte);
    return true;
  };
  const char* p = raw.data();
  const char* const end = p + raw.size();
  while (p < end) {
    const char c = *p++;
    if (c != '\\') {
      if (!put(static_cast<unsigned char>(c))) return kDecodeTooLong;
      continue;
    }
    if (p == end) return kDecodeInvalid;
    const char e = *p++;
    char simple;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        simple = e;
        break;
      case 'b':
        simple = '\b';
        break;
      case 'f':
        simple = '\f';
        break;
      case 'n':
        simple = '\n';
        break;
      case 'r':
        simple = '\r';
        break;
      case 't':
        simple = '\t';
        break;
      case 'u': {
        if (end - p < 4) return kDecodeInvalid;
        int unit = Hex4(p);
        if (unit < 0) return kDecodeInvalid;
        p += 4;
        uint32_t cp = static_cast<uint32_t>(unit);
        if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
          const int low = Hex4(p + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
            p += 6;
          }
        }
        bool ok;
        if (cp < 0x80) {
          ok = put(cp);
        } else if (cp < 0x800) {
          ok = put(0xC0 | (cp >> 6)) && put(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          ok = put(0xE0 | (cp >> 12)) && put(0x80 | ((cp >> 6) & 0x3F)) && put(0x80 | (cp & 0x3F));
        } else {
          ok = put(0xF0 | (cp >> 18)) && put(0x80 | ((cp >> 12) & 0x3F)) && put(0x80 | ((cp >> 6) & 0x3F)) &&
               put(0x80 | (cp & 0x3F));
        }
        if (!ok) return kDecodeTooLong;
        continue;
      }
      default:
        return kDecodeInvalid;
    }
    if (!put(static_cast<unsigned char>(simple))) return kDecodeTooLong;
  }
  return static_cast<ptrdiff_t>(n);
}

}  // namespace chaperone::extract
