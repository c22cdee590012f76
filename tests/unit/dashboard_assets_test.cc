// The dashboard's files are embedded in the binary (web/dashboard/CMakeLists.txt).
#include <gtest/gtest.h>

#include <string>

#include "web/assets.h"

namespace chaperone::web {
namespace {

TEST(DashboardAssets, IndexIsServedForRootAndItsOwnPath) {
  const Asset* root = FindAsset("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root, FindAsset(""));
  EXPECT_EQ(root, FindAsset("/index.html"));
  EXPECT_EQ(root, FindAsset("index.html"));
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  EXPECT_NE(root->content.find("<div id=\"app\">"), std::string_view::npos);
}

TEST(DashboardAssets, IndexReferencesEmbeddedScriptAndStylesheet) {
  const Asset* index = FindAsset("/index.html");
  ASSERT_NE(index, nullptr);
  // index.html loads app.js?v=<hash> and app.css?v=<hash>: both must be embedded.
  EXPECT_NE(index->content.find("src=\"app.js?v="), std::string_view::npos);
  EXPECT_NE(index->content.find("href=\"app.css?v="), std::string_view::npos);
  const Asset* js = FindAsset("/app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_GT(js->content.size(), 10'000u);
  const Asset* css = FindAsset("/app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  const Asset* icon = FindAsset("/favicon.svg");
  ASSERT_NE(icon, nullptr);
  EXPECT_EQ(icon->content_type, "image/svg+xml");
  EXPECT_EQ(icon->content.substr(0, 4), "<svg");
}

TEST(DashboardAssets, BytesAreExact) {
  // The embedded index.html ends with the document's closing tag and a newline,
  // with no terminator or padding added by the generator.
  const Asset* index = FindAsset("/index.html");
  ASSERT_NE(index, nullptr);
  std::string text(index->content);
  ASSERT_GE(text.size(), 8u);
  EXPECT_EQ(text.substr(text.size() - 8), "</html>\n");
  EXPECT_EQ(text.find('\0'), std::string::npos);
}

TEST(DashboardAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(FindAsset("/nope.js"), nullptr);
  EXPECT_EQ(FindAsset("/api/v1/topics"), nullptr);
  EXPECT_EQ(FindAsset("/../index.html"), nullptr);
  EXPECT_EQ(FindAsset("//index.html"), nullptr);
  EXPECT_EQ(FindAsset("/app.js?v=1"), nullptr);  // the server strips the query string
}

}  // namespace
}  // namespace chaperone::web
