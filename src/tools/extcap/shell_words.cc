#include "tools/extcap/shell_words.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tapshim::extcap {
namespace {

absl::Status refused(char c, size_t offset, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--command: '", std::string(1, c), "' at offset ",
                                                 offset, ": ", std::string(why),
                                                 "; quote it, or run sh -c '...' as the command"));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> splitShellWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // "" is a word: quotes make one even when empty
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
    } else if (c == '\'') {
      const size_t end = text.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("--command: unterminated ' at offset ", i));
      }
      word.append(text.substr(i + 1, end - i - 1));
      in_word = true;
      i = end + 1;
    } else if (c == '"') {
      const size_t start = i;
      ++i;
      for (;; ++i) {
        if (i >= text.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("--command: unterminated \" at offset ", start));
        }
        const char d = text[i];
        if (d == '"') break;
        if (d == '$' || d == '`') return refused(d, i, "no expansion is made");
        if (d == '\\' && i + 1 < text.size() && std::strchr("\"\\$`\n", text[i + 1]) != nullptr) {
          if (text[i + 1] != '\n') word.push_back(text[i + 1]);
          ++i;
          continue;
        }
        word.push_back(d);
      }
      in_word = true;
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--command: a backslash ends the command at offset ", i));
      }
      if (text[i + 1] != '\n') {
        word.push_back(text[i + 1]);
        in_word = true;
      }
      i += 2;
    } else if (std::strchr("|&;<>()", c) != nullptr) {
      return refused(c, i, "no shell is run, so no pipeline, list or redirection is made");
    } else if (c == '$' || c == '`') {
      return refused(c, i, "no expansion is made");
    } else {
      word.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return absl::InvalidArgumentError("--command: no program given");
  return words;
}

}  // namespace tapshim::extcap
