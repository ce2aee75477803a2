#include "tools/trace_reader/record_parser.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {
namespace {

using envoy::config::core::v3::Address;
using envoy::data::tap::v3::Connection;
using envoy::data::tap::v3::TraceWrapper;

// Keeps the first text-format error instead of letting libprotobuf log it.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat("line ", line + 1, ":", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

constexpr int kOldLocalAddressField = 2;
constexpr int kOldRemoteAddressField = 3;

void fixConnection(ConnectionNumbering numbering, Connection* connection) {
  const google::protobuf::UnknownFieldSet& unknown =
      connection->GetReflection()->GetUnknownFields(*connection);
  const google::protobuf::UnknownField* old_remote = nullptr;
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& field = unknown.field(i);
    if (field.number() == kOldRemoteAddressField &&
        field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      old_remote = &field;
    }
  }
  const bool looks_old = old_remote != nullptr && !connection->has_local_address();
  if (numbering != ConnectionNumbering::kOld && !looks_old) return;
  // Field 2 (parsed as remote_address) is the old local address; field 3
  // (unknown to the current schema) is the old remote address.
  Connection fixed;
  if (connection->has_remote_address()) {
    *fixed.mutable_local_address() = connection->remote_address();
  }
  if (old_remote != nullptr) {
    Address remote;
    if (remote.ParseFromString(old_remote->length_delimited())) {
      *fixed.mutable_remote_address() = remote;
    }
  }
  *connection = std::move(fixed);
}

}  // namespace

void fixConnectionNumbering(ConnectionNumbering numbering, TraceWrapper* wrapper) {
  if (wrapper->has_socket_buffered_trace()) {
    auto* trace = wrapper->mutable_socket_buffered_trace();
    if (trace->has_connection()) fixConnection(numbering, trace->mutable_connection());
  } else if (wrapper->has_socket_streamed_trace_segment()) {
    auto* segment = wrapper->mutable_socket_streamed_trace_segment();
    if (segment->has_connection()) fixConnection(numbering, segment->mutable_connection());
    if (segment->has_event() && segment->event().has_connection()) {
      fixConnection(numbering, segment->mutable_event()->mutable_connection());
    }
    if (segment->has_events()) {
      for (auto& event : *segment->mutable_events()->mutable_events()) {
        if (event.has_connection()) fixConnection(numbering, event.mutable_connection());
      }
    }
  }
}

absl::Status parseRecord(std::string_view record, TraceFormat format, ConnectionNumbering numbering,
                         TraceWrapper* wrapper) {
  wrapper->Clear();
  switch (format) {
    case TraceFormat::kProtoBinary:
    case TraceFormat::kProtoLengthDelimited:
      if (!wrapper->ParseFromArray(record.data(), static_cast<int>(record.size()))) {
        return absl::InvalidArgumentError(
            "not a trace: the record does not parse as a TraceWrapper");
      }
      fixConnectionNumbering(numbering, wrapper);
      break;
    case TraceFormat::kProtoText: {
      google::protobuf::TextFormat::Parser parser;
      FirstErrorCollector errors;
      parser.RecordErrorsTo(&errors);
      google::protobuf::io::ArrayInputStream input(record.data(), static_cast<int>(record.size()));
      if (!parser.Parse(&input, wrapper)) {
        return absl::InvalidArgumentError(absl::StrCat("not a text trace: ", errors.error()));
      }
      break;
    }
    case TraceFormat::kJson: {
      google::protobuf::util::JsonParseOptions options;
      // Newer Envoys may add fields (applied_sample_rate) that we can skip.
      options.ignore_unknown_fields = true;
      const auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(record.data(), record.size()), wrapper, options);
      if (!status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("not a JSON trace: ", std::string(status.message())));
      }
      break;
    }
  }
  if (wrapper->trace_case() == TraceWrapper::TRACE_NOT_SET) {
    return absl::InvalidArgumentError("not a socket trace: the record holds no socket trace");
  }
  return absl::OkStatus();
}

}  // namespace tapshim::tap2pcap
