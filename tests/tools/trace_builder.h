// Builds test traces with the proto classes and writes them in each of
// Envoy's file formats, the way libprotobuf itself prints them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "envoy/data/tap/v3/wrapper.pb.h"
#include "tools/trace_reader/trace_format.h"

namespace tapshim::tap2pcap::testing {

using envoy::data::tap::v3::TraceWrapper;

envoy::config::core::v3::Address ipAddress(const std::string& ip, uint32_t port);
envoy::config::core::v3::Address pipeAddress(const std::string& path);

// Appends a read or write (or closed) event to a repeated SocketEvent field.
envoy::data::tap::v3::SocketEvent readEvent(int64_t time_ns, const std::string& data,
                                            bool truncated = false);
envoy::data::tap::v3::SocketEvent writeEvent(int64_t time_ns, const std::string& data,
                                             bool truncated = false);
envoy::data::tap::v3::SocketEvent closedEvent(int64_t time_ns);

// The messages as a file of `format` holds them (concatenated, or
// length-delimited), printed by libprotobuf (text: TextFormat; JSON:
// preserve_proto_field_names, each message followed by a newline).
std::string encodeTraces(const std::vector<TraceWrapper>& messages, TraceFormat format);

// Rewrites a connection as Envoy <= 1.27 numbered it: local 2, remote 3.
void useOldNumbering(envoy::data::tap::v3::Connection* connection);

}  // namespace tapshim::tap2pcap::testing
