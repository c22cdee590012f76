// chaperone-test-digest: the expected audit digest of a batch of messages, for
// end-to-end tests. Reads one message per line from stdin, the way `kcat -P`
// does, and prints "<count> <digest>" (the digest as 16 hex digits, as in
// audit records).
//
//   -K <c>   the key is the part of the line before the first <c> (kcat -K);
//            without -K, messages have no key
//   -Z       empty keys and values are null (kcat -Z: tombstones)
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "chaperone/audit_record.h"
#include "chaperone/digest.h"

int main(int argc, char** argv) {
  char delim = 0;
  bool null_empty = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-K") == 0 && i + 1 < argc && std::strlen(argv[i + 1]) == 1) {
      delim = argv[++i][0];
    } else if (std::strcmp(argv[i], "-Z") == 0) {
      null_empty = true;
    } else {
      std::fprintf(stderr, "usage: %s [-K <one character>] [-Z] < messages\n", argv[0]);
      return 2;
    }
  }
  uint64_t digest = 0;
  int64_t count = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string key, value = line;
    bool key_null = true;
    if (delim != 0) {
      size_t at = line.find(delim);
      if (at != std::string::npos) {
        key = line.substr(0, at);
        value = line.substr(at + 1);
        key_null = null_empty && key.empty();
      }
    }
    bool value_null = null_empty && value.empty();
    digest += chaperone::MessageDigest(key, key_null, value, value_null);
    count++;
  }
  std::printf("%lld %s\n", static_cast<long long>(count), chaperone::DigestToHex(digest).c_str());
  return 0;
}
