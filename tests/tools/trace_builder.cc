#include "tests/tools/trace_builder.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

namespace tapshim::tap2pcap::testing {

using envoy::data::tap::v3::SocketEvent;

envoy::config::core::v3::Address ipAddress(const std::string& ip, uint32_t port) {
  envoy::config::core::v3::Address address;
  address.mutable_socket_address()->set_address(ip);
  address.mutable_socket_address()->set_port_value(port);
  return address;
}

envoy::config::core::v3::Address pipeAddress(const std::string& path) {
  envoy::config::core::v3::Address address;
  address.mutable_pipe()->set_path(path);
  return address;
}

namespace {

void setTime(int64_t time_ns, SocketEvent* event) {
  event->mutable_timestamp()->set_seconds(time_ns / 1'000'000'000);
  event->mutable_timestamp()->set_nanos(static_cast<int32_t>(time_ns % 1'000'000'000));
}

}  // namespace

SocketEvent readEvent(int64_t time_ns, const std::string& data, bool truncated) {
  SocketEvent event;
  setTime(time_ns, &event);
  event.mutable_read()->mutable_data()->set_as_bytes(data);
  event.mutable_read()->mutable_data()->set_truncated(truncated);
  return event;
}

SocketEvent writeEvent(int64_t time_ns, const std::string& data, bool truncated) {
  SocketEvent event;
  setTime(time_ns, &event);
  event.mutable_write()->mutable_data()->set_as_bytes(data);
  event.mutable_write()->mutable_data()->set_truncated(truncated);
  return event;
}

SocketEvent closedEvent(int64_t time_ns) {
  SocketEvent event;
  setTime(time_ns, &event);
  event.mutable_closed();
  return event;
}

std::string encodeTraces(const std::vector<TraceWrapper>& messages, TraceFormat format) {
  std::string out;
  for (const TraceWrapper& message : messages) {
    switch (format) {
      case TraceFormat::kProtoBinary:
        out += message.SerializeAsString();
        break;
      case TraceFormat::kProtoLengthDelimited: {
        google::protobuf::io::StringOutputStream stream(&out);
        google::protobuf::io::CodedOutputStream coded(&stream);
        coded.WriteVarint32(static_cast<uint32_t>(message.ByteSizeLong()));
        message.SerializeToCodedStream(&coded);
        break;
      }
      case TraceFormat::kProtoText: {
        std::string text;
        google::protobuf::TextFormat::PrintToString(message, &text);
        out += text;
        break;
      }
      case TraceFormat::kJson: {
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        options.add_whitespace = true;
        options.always_print_primitive_fields = true;
        std::string json;
        (void)google::protobuf::util::MessageToJsonString(message, &json, options);
        out += json + "\n";
        break;
      }
    }
  }
  return out;
}

void useOldNumbering(envoy::data::tap::v3::Connection* connection) {
  envoy::data::tap::v3::Connection old;
  if (connection->has_local_address()) {
    *old.mutable_remote_address() = connection->local_address();  // field 2
  }
  if (connection->has_remote_address()) {
    old.GetReflection()->MutableUnknownFields(&old)->AddLengthDelimited(
        3, connection->remote_address().SerializeAsString());
  }
  *connection = old;
}

}  // namespace tapshim::tap2pcap::testing
