// http::Endpoint (src/http): binding, /health, /metrics and the one JSON error
// shape every Chaperone server answers with. Real sockets on 127.0.0.1, port 0.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/exit_code.h"
#include "http/endpoint.h"
#include "http/health.h"
#include "http/listen.h"

namespace chaperone::http {
namespace {

using nlohmann::json;

EndpointOptions Local() { return EndpointOptions{.listen = "127.0.0.1:0", .threads = 2, .thread_name = "test-http"}; }

void ExpectError(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  json j = json::parse(r->body);
  ASSERT_TRUE(j.is_object()) << r->body;
  EXPECT_EQ(j.size(), 1u) << r->body;
  ASSERT_TRUE(j["error"].is_object()) << r->body;
  EXPECT_EQ(j["error"].size(), 2u) << r->body;
  EXPECT_EQ(j["error"]["code"], code) << r->body;
  EXPECT_TRUE(j["error"]["message"].is_string()) << r->body;
}

TEST(BindHttpServer, PortZeroPicksAFreePortAndABusyPortIsAConfigurationError) {
  httplib::Server first;
  ConfigureHttpSockets(first);
  auto a = BindHttpServer(first, "127.0.0.1:0", "--metrics-listen");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_GT(a->port, 0);

  httplib::Server second;
  ConfigureHttpSockets(second);
  const std::string busy = "127.0.0.1:" + std::to_string(a->port);
  auto b = BindHttpServer(second, busy, "--metrics-listen");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(common::ExitCode(b.status()), common::kExitBadConfig);
  EXPECT_NE(b.status().message().find("--metrics-listen: cannot listen on " + busy), std::string::npos)
      << b.status().message();

  auto c = BindHttpServer(second, "127.0.0.1:65536", "--metrics-listen");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
}

TEST(Endpoint, StartsOnPortZeroAndStopIsIdempotent) {
  Endpoint ep("test", Local());
  EXPECT_EQ(ep.port(), 0);
  ASSERT_TRUE(ep.Start().ok());
  EXPECT_TRUE(ep.running());
  EXPECT_GT(ep.port(), 0);
  EXPECT_EQ(ep.host(), "127.0.0.1");
  EXPECT_EQ(ep.url(), "http://127.0.0.1:" + std::to_string(ep.port()));
  EXPECT_EQ(ep.Start().code(), Status::Code::kInternal);  // already running
  const int port = ep.port();
  ep.Stop();
  ep.Stop();
  EXPECT_FALSE(ep.running());
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(1, 0);
  EXPECT_FALSE(c.Get("/health"));
}

TEST(Endpoint, ABusyPortOrABadAddressIsInvalidArgumentNamingTheAddress) {
  Endpoint first("test", Local());
  ASSERT_TRUE(first.Start().ok());
  const std::string busy = "127.0.0.1:" + std::to_string(first.port());
  EndpointOptions o = Local();
  o.listen = busy;
  Endpoint second("--metrics-listen", o);
  Status s = second.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(common::ExitCode(s), common::kExitBadConfig);
  EXPECT_NE(s.message().find("--metrics-listen: cannot listen on " + busy), std::string::npos) << s.message();
  EXPECT_FALSE(second.running());
  EXPECT_EQ(second.port(), 0);

  o.listen = "not an address";
  Endpoint third("listen", o);
  s = third.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("listen"), std::string::npos) << s.message();
}

TEST(Endpoint, HealthIs200WhenOkOrDegradedAnd503WhenFailing) {
  std::atomic<int> state{0};
  Endpoint ep("test", Local());
  ep.SetHealth([&] {
    HealthVerdict v;
    v.details["store"] = "fake";
    v.details["lag"] = 3;
    if (state == 1) {
      v.state = HealthVerdict::State::kDegraded;
      v.reasons.push_back("lag is growing");
    } else if (state == 2) {
      v.state = HealthVerdict::State::kFailing;
      v.status = "unavailable";  // a component's own word
      v.reasons.push_back("store: \"disk\" on fire\n");
    }
    return v;
  });
  ASSERT_TRUE(ep.Start().ok());
  httplib::Client c("127.0.0.1", ep.port());

  auto r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->body, R"({"status":"ok","store":"fake","lag":3})");

  state = 1;
  r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  json j = json::parse(r->body);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["reasons"], json::array({"lag is growing"}));

  state = 2;
  r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  j = json::parse(r->body);
  EXPECT_EQ(j["status"], "unavailable");
  EXPECT_EQ(j["store"], "fake");
  EXPECT_EQ(j["reasons"][0], "store: \"disk\" on fire\n");

  auto h = c.Head("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  EXPECT_TRUE(h->body.empty());
}

TEST(Endpoint, MetricsArePrometheusText) {
  Endpoint ep("test", Local());
  ep.SetMetrics([] { return std::string("# TYPE up gauge\nup 1\n"); });
  ASSERT_TRUE(ep.Start().ok());
  httplib::Client c("127.0.0.1", ep.port());
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_EQ(r->body, "# TYPE up gauge\nup 1\n");
  // Without a callback there is no /metrics.
  Endpoint bare("test", Local());
  ASSERT_TRUE(bare.Start().ok());
  httplib::Client b("127.0.0.1", bare.port());
  ExpectError(b.Get("/metrics"), 404, "not_found");
}

TEST(Endpoint, UnknownPathsAre404AndWrongMethods405InOneJsonShape) {
  std::vector<std::string> observed;
  std::mutex mu;
  Endpoint ep("test", Local());
  ep.SetHealth([] { return HealthVerdict{}; });
  ep.SetMetrics([] { return std::string("up 1\n"); });
  ep.Get("/things", [](const httplib::Request&, httplib::Response& res) { res.set_content("[]", "application/json"); });
  ep.Delete("/things/([^/]+)", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  ep.OnResponse([&](std::string_view route, int status, double) {
    std::lock_guard lock(mu);
    observed.push_back(std::string(route) + " " + std::to_string(status));
  });
  ASSERT_TRUE(ep.Start().ok());
  httplib::Client c("127.0.0.1", ep.port());

  auto ok = c.Get("/things");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "[]");
  EXPECT_EQ(ok->get_header_value("X-Content-Type-Options"), "nosniff");

  ExpectError(c.Get("/nowhere"), 404, "not_found");
  ExpectError(c.Get("/things/a/b"), 404, "not_found");
  ExpectError(c.Post("/nowhere", "", "text/plain"), 404, "not_found");

  auto r = c.Post("/things", "{}", "application/json");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
  r = c.Get("/things/x");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "DELETE");
  r = c.Put("/health", "", "text/plain");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
  ExpectError(c.Delete("/metrics"), 405, "method_not_allowed");

  std::lock_guard lock(mu);
  EXPECT_EQ(observed, (std::vector<std::string>{"unmatched 404", "unmatched 404", "unmatched 404", "unmatched 405",
                                                "unmatched 405", "unmatched 405", "unmatched 405"}));
}

TEST(Endpoint, AnExceptionInAHandlerIsA500InTheSameShape) {
  Endpoint ep("test", Local());
  ep.Get("/boom", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Partial", "yes");
    throw std::runtime_error("kaboom");
  });
  ep.SetHealth([]() -> HealthVerdict { throw std::runtime_error("health check crashed"); });
  ASSERT_TRUE(ep.Start().ok());
  httplib::Client c("127.0.0.1", ep.port());
  auto r = c.Get("/boom");
  ExpectError(r, 500, "internal");
  EXPECT_EQ(json::parse(r->body)["error"]["message"], "internal error");  // no internals leak
  EXPECT_FALSE(r->has_header("X-Partial"));
  ExpectError(c.Get("/health"), 500, "internal");
  // The server goes on serving.
  ExpectError(c.Get("/boom"), 500, "internal");
}

TEST(Endpoint, TooLargeBodiesAndMalformedRequestsGetJsonToo) {
  EndpointOptions o = Local();
  o.max_body_bytes = 16;
  Endpoint ep("test", o);
  ep.Post("/in", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  ASSERT_TRUE(ep.Start().ok());
  httplib::Client c("127.0.0.1", ep.port());
  ExpectError(c.Post("/in", std::string(100, 'x'), "text/plain"), 413, "bad_request");
  auto ok = c.Post("/in", "small", "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204);
}

TEST(WriteError, EscapesJsonAndReplacesInvalidUtf8) {
  httplib::Response res;
  WriteError(res, 400, "bad_request", "quote \" backslash \\ newline \n control \x01 bad \xff");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
  json j = json::parse(res.body);
  EXPECT_EQ(j["error"]["code"], "bad_request");
  EXPECT_EQ(j["error"]["message"], "quote \" backslash \\ newline \n control \x01 bad \xEF\xBF\xBD");
  EXPECT_EQ(ErrorJson("x", "y"), R"({"error":{"code":"x","message":"y"}})");
}

}  // namespace
}  // namespace chaperone::http
