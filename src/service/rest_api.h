// The service's REST API (Chaperone-compatible):
//   GET    /topics                 topics audited by this process
//   POST   /topics                 {"topic": "...", "numPartitions": N}: audit a topic by hand
//   DELETE /topics/{topic}         stop auditing a topic
//   GET    /health                 200 when healthy, 503 otherwise (JSON details)
//   GET    /metrics                Prometheus text
// Bad requests get a 4xx status and {"error": {"code": "...", "message": "..."}}
// (codes as the web API's: bad_request (400, 413), not_found, method_not_allowed,
// internal; and already_exists (409), unavailable (503)).
//
// HandleRestRequest is a pure function of a /topics request and a
// ServiceControl, so unit tests drive it without sockets; RestServer serves it,
// /health and /metrics on an http::Endpoint.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"
#include "http/health.h"

namespace chaperone::http {
class Endpoint;
}

namespace chaperone::service {

struct TopicInfo {
  std::string topic;
  std::string source;                   // "pattern" or "manual"
  int partitions = -1;                  // in the cluster (-1 unknown)
  int expected_partitions = 0;          // numPartitions of POST /topics (0 not given)
  std::vector<int32_t> assigned;        // partitions this process owns now
};

// What the REST API needs from the service. Implementations are thread-safe.
class ServiceControl {
 public:
  virtual ~ServiceControl() = default;
  virtual std::vector<TopicInfo> ListTopics() = 0;
  // InvalidArgument → 400, AlreadyExists → 409.
  virtual Status AddTopic(const std::string& topic, int num_partitions) = 0;
  // NotFound → 404.
  virtual Status RemoveTopic(const std::string& topic) = 0;
  virtual http::HealthVerdict Health() = 0;
  virtual std::string PrometheusMetrics() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Answers /topics and /topics/{topic} (any method); any other path is a 404.
HttpResponse HandleRestRequest(ServiceControl& control, std::string_view method, std::string_view path,
                               std::string_view body);

// The REST API on an http::Endpoint (thread "svc-http", 2 workers): /topics
// through HandleRestRequest, /health and /metrics from `control`.
class RestServer {
 public:
  // Binds `listen` ("host:port", port 0 = any free port) and starts serving;
  // a bad address or a port in use is InvalidArgument.
  static Result<std::unique_ptr<RestServer>> Start(const std::string& listen, ServiceControl* control);
  ~RestServer();  // stops and joins
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  int port() const;

 private:
  RestServer() = default;
  std::unique_ptr<http::Endpoint> endpoint_;
};

}  // namespace chaperone::service
