// The service's REST API (Chaperone-compatible):
//   GET    /topics                 topics audited by this process
//   POST   /topics                 {"topic": "...", "numPartitions": N}: audit a topic by hand
//   DELETE /topics/{topic}         stop auditing a topic
//   GET    /health                 200 when healthy, 503 otherwise (JSON details)
//   GET    /metrics                Prometheus text
// Bad requests get a 4xx status and {"error": "..."}.
//
// HandleRestRequest is a pure function of the request and a ServiceControl,
// so unit tests drive it without sockets; RestServer binds it to cpp-httplib.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "chaperone/status.h"

namespace httplib {
class Server;
}

namespace chaperone::service {

struct TopicInfo {
  std::string topic;
  std::string source;                   // "pattern" or "manual"
  int partitions = -1;                  // in the cluster (-1 unknown)
  int expected_partitions = 0;          // numPartitions of POST /topics (0 not given)
  std::vector<int32_t> assigned;        // partitions this process owns now
};

struct HealthReport {
  bool healthy = true;
  std::string json;  // the body
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
  virtual HealthReport Health() = 0;
  virtual std::string PrometheusMetrics() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

HttpResponse HandleRestRequest(ServiceControl& control, std::string_view method, std::string_view path,
                               std::string_view body);

// An HTTP server answering HandleRestRequest on its own threads.
class RestServer {
 public:
  // Binds `listen` ("host:port", port 0 = any free port) and starts serving.
  static Result<std::unique_ptr<RestServer>> Start(const std::string& listen, ServiceControl* control);
  ~RestServer();  // stops and joins
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  int port() const { return port_; }

 private:
  RestServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace chaperone::service
