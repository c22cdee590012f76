#include "service/rest_api.h"

#include <httplib.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "http/endpoint.h"

namespace chaperone::service {
namespace {

using nlohmann::json;

constexpr size_t kMaxBodyBytes = 64 * 1024;

const char* ErrorCode(int status) {
  switch (status) {
    case 400:
    case 413:
      return "bad_request";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "already_exists";
    case 503:
      return "unavailable";
    default:
      return "internal";
  }
}

HttpResponse Error(int status, const std::string& message) {
  return HttpResponse{status, "application/json", http::ErrorJson(ErrorCode(status), message)};
}

int StatusToHttp(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kAlreadyExists:
      return 409;
    case Status::Code::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpResponse ListTopics(ServiceControl& c) {
  json topics = json::array();
  for (const auto& t : c.ListTopics()) {
    json j{{"topic", t.topic}, {"source", t.source}, {"assignedPartitions", t.assigned}};
    if (t.partitions >= 0) j["partitions"] = t.partitions;
    if (t.expected_partitions > 0) j["numPartitions"] = t.expected_partitions;
    topics.push_back(std::move(j));
  }
  return HttpResponse{200, "application/json", json{{"topics", topics}}.dump()};
}

HttpResponse AddTopic(ServiceControl& c, std::string_view body) {
  if (body.size() > kMaxBodyBytes) return Error(413, "request body larger than 64 KiB");
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(400, "request body is not valid JSON");
  if (!j.is_object()) return Error(400, "request body must be a JSON object {\"topic\": ..., \"numPartitions\": ...}");
  auto t = j.find("topic");
  if (t == j.end() || !t->is_string()) return Error(400, "\"topic\" (a string) is required");
  std::string topic = t->get<std::string>();
  int partitions = 0;
  if (auto n = j.find("numPartitions"); n != j.end() && !n->is_null()) {
    // Chaperone's clients send the number as a string ("numPartitions": "1").
    int64_t v = -1;
    if (n->is_number_integer()) {
      v = n->get<int64_t>();
    } else if (n->is_string()) {
      const std::string& s = n->get_ref<const std::string&>();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || p != s.data() + s.size()) v = -1;
    }
    if (v < 1 || v > 100000) return Error(400, "\"numPartitions\" must be an integer from 1 to 100000");
    partitions = static_cast<int>(v);
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "topic" && it.key() != "numPartitions") return Error(400, "unknown field \"" + it.key() + "\"");
  }
  if (Status s = c.AddTopic(topic, partitions); !s.ok()) return Error(StatusToHttp(s), s.message());
  json out{{"topic", topic}, {"added", true}};
  if (partitions > 0) out["numPartitions"] = partitions;
  return HttpResponse{201, "application/json", out.dump()};
}

HttpResponse RemoveTopic(ServiceControl& c, std::string_view topic) {
  if (Status s = c.RemoveTopic(std::string(topic)); !s.ok()) return Error(StatusToHttp(s), s.message());
  return HttpResponse{200, "application/json", json{{"topic", std::string(topic)}, {"removed", true}}.dump()};
}

}  // namespace

HttpResponse HandleRestRequest(ServiceControl& control, std::string_view method, std::string_view path,
                               std::string_view body) {
  // Tolerate one trailing slash ("/topics/").
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/topics") {
    if (method == "GET") return ListTopics(control);
    if (method == "POST") return AddTopic(control, body);
    return Error(405, "method " + std::string(method) + " not allowed on /topics (GET, POST)");
  }
  if (path.starts_with("/topics/")) {
    std::string_view topic = path.substr(8);
    if (topic.find('/') != std::string_view::npos) return Error(404, "no such resource: " + std::string(path));
    if (method == "DELETE") return RemoveTopic(control, topic);
    if (method == "GET") {
      for (const auto& t : control.ListTopics()) {
        if (t.topic == topic) {
          json j{{"topic", t.topic}, {"source", t.source}, {"assignedPartitions", t.assigned}};
          if (t.partitions >= 0) j["partitions"] = t.partitions;
          return HttpResponse{200, "application/json", j.dump()};
        }
      }
      return Error(404, "topic " + std::string(topic) + " is not audited");
    }
    return Error(405, "method " + std::string(method) + " not allowed on /topics/{topic} (GET, DELETE)");
  }
  return Error(404, "no such resource: " + std::string(path) + " (try /topics)");
}

Result<std::unique_ptr<RestServer>> RestServer::Start(const std::string& listen, ServiceControl* control) {
  std::unique_ptr<RestServer> rs(new RestServer());
  // One byte over the limit reaches HandleRestRequest, which answers 413 itself.
  rs->endpoint_ = std::make_unique<http::Endpoint>(
      "listen", http::EndpointOptions{.listen = listen, .threads = 2, .thread_name = "svc-http",
                                      .max_body_bytes = kMaxBodyBytes + 1});
  http::Endpoint& ep = *rs->endpoint_;
  ep.SetHealth([control] { return control->Health(); });
  ep.SetMetrics([control] { return control->PrometheusMetrics(); });
  auto handler = [control](const httplib::Request& req, httplib::Response& res) {
    HttpResponse r = HandleRestRequest(*control, req.method, req.path, req.body);
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  };
  // HandleRestRequest answers every method on /topics, wrong ones with 405.
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) ep.Route(m, "/topics(/.*)?", handler);
  if (Status s = ep.Start(); !s.ok()) return s;
  return rs;
}

RestServer::~RestServer() = default;

int RestServer::port() const { return endpoint_->port(); }

}  // namespace chaperone::service
