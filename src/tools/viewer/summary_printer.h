// tapshim-view's output: a line per trace (and, if asked, a line per
// event), as text for people or as JSON lines for scripts.
#pragma once

#include <cstdio>
#include <string>

#include "envoy/config/core/v3/address.pb.h"
#include "tools/viewer/trace_summary.h"

namespace tapshim::view {

// "127.0.0.1:80", "[::1]:80", a pipe's path ("(unnamed)" if empty), "?".
std::string formatAddress(const envoy::config::core::v3::Address* address);

// The data as printable ASCII: \r \n \t \\ \" and \xNN for anything else,
// cut after about `width` characters with "..." when cut or when the event
// held more than the preview.
std::string previewOf(const std::string& data, uint64_t size, size_t width = kPreviewBytes);

// "812 ns", "4.512 us", "4.512 ms", "1.250 s".
std::string formatDuration(int64_t ns);

// Text: one summary line, then with events one indented line per event.
void printText(const TraceView& trace, bool with_events, std::FILE* out);

// One JSON object per line; with events, an "events" array in it.
void printJson(const TraceView& trace, bool with_events, std::FILE* out);

// A JSON string literal for arbitrary bytes: valid UTF-8 passes through,
// any other byte becomes \u00NN.
std::string jsonString(const std::string& text);

}  // namespace tapshim::view
