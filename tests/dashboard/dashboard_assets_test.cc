// The dashboard's files are embedded in the binary (web/dashboard/CMakeLists.txt).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

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

// The value of the first `attr="..."` in `html`, or "".
std::string Attribute(std::string_view html, std::string_view attr) {
  const std::string key = std::string(attr) + "=\"";
  size_t begin = html.find(key);
  if (begin == std::string_view::npos) return "";
  begin += key.size();
  size_t end = html.find('"', begin);
  return end == std::string_view::npos ? "" : std::string(html.substr(begin, end - begin));
}

TEST(DashboardAssets, IndexReferencesEmbeddedScriptAndStylesheet) {
  const Asset* index = FindAsset("/index.html");
  ASSERT_NE(index, nullptr);
  // index.html loads the content-hashed bundle under assets/: both files must be embedded.
  const std::string script = Attribute(index->content, "src");
  ASSERT_TRUE(script.starts_with("assets/app-") && script.ends_with(".js")) << script;
  const Asset* js = FindAsset("/" + script);
  ASSERT_NE(js, nullptr) << script;
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_GT(js->content.size(), 10'000u);
  EXPECT_NE(js->content.find("chaperoneDashboard"), std::string_view::npos);

  const std::string::size_type css_at = std::string_view(index->content).find("rel=\"stylesheet\"");
  ASSERT_NE(css_at, std::string::npos);
  const std::string css_path = Attribute(index->content.substr(css_at), "href");
  ASSERT_TRUE(css_path.starts_with("assets/app-") && css_path.ends_with(".css")) << css_path;
  const Asset* css = FindAsset(css_path);  // without the leading slash: same file
  ASSERT_NE(css, nullptr) << css_path;
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
  EXPECT_EQ(FindAsset("/index.html?x=1"), nullptr);  // the server strips the query string
}

}  // namespace
}  // namespace chaperone::web
