#include "policy/opt_out_keywords.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy/policy_profile.h"

namespace wapolicy {
namespace {

const std::vector<std::string>& DefaultKeywords() {
  static const std::vector<std::string> k = DefaultProfile().opt_out_keywords;
  return k;
}

TEST(OptOutKeywords, MatchesEachDefaultKeywordAsWritten) {
  OptOutKeywords keywords(DefaultKeywords());
  for (const std::string& k : DefaultKeywords()) EXPECT_TRUE(keywords.Matches(k)) << k;
}

TEST(OptOutKeywords, MatchIgnoresLetterCase) {
  OptOutKeywords keywords(DefaultKeywords());
  EXPECT_TRUE(keywords.Matches("stop"));
  EXPECT_TRUE(keywords.Matches("Stop"));
  EXPECT_TRUE(keywords.Matches("sToP aLl"));
  EXPECT_TRUE(keywords.Matches("unsubscribe"));
}

TEST(OptOutKeywords, MatchTrimsSurroundingSpacesAndPunctuation) {
  OptOutKeywords keywords(DefaultKeywords());
  EXPECT_TRUE(keywords.Matches("  stop! "));
  EXPECT_TRUE(keywords.Matches("...STOP..."));
  EXPECT_TRUE(keywords.Matches("\tstop\n"));
  EXPECT_TRUE(keywords.Matches("\"Quit\"?!"));
  EXPECT_TRUE(keywords.Matches("(end)"));
}

TEST(OptOutKeywords, MatchFoldsInnerWhitespaceToOneSpace) {
  OptOutKeywords keywords(DefaultKeywords());
  EXPECT_TRUE(keywords.Matches("stop   all"));
  EXPECT_TRUE(keywords.Matches("stop\tall"));
  EXPECT_TRUE(keywords.Matches("opt \r\n out"));
}

TEST(OptOutKeywords, WhitespaceInsideAWordIsNotIgnored) {
  OptOutKeywords keywords(DefaultKeywords());
  EXPECT_FALSE(keywords.Matches("st op"));
  EXPECT_FALSE(keywords.Matches("opt out all"));
  // "OPTOUT" and "OPT OUT" are both keywords, but spacing is significant.
  EXPECT_FALSE(keywords.Matches("op tout"));
}

TEST(OptOutKeywords, InnerPunctuationIsKept) {
  OptOutKeywords keywords(DefaultKeywords());
  EXPECT_FALSE(keywords.Matches("opt-out"));  // Neither "OPT OUT" nor "OPTOUT".
  EXPECT_FALSE(keywords.Matches("s.t.o.p"));
  EXPECT_EQ(OptOutKeywords::Normalise("opt-out"), "OPT-OUT");
}

TEST(OptOutKeywords, KeywordInsideALongerMessageDoesNotMatch) {
  OptOutKeywords keywords(DefaultKeywords());
  EXPECT_FALSE(keywords.Matches("please stop sending me these"));
  EXPECT_FALSE(keywords.Matches("stopping"));
  EXPECT_FALSE(keywords.Matches("STOP ALL NOW"));
  EXPECT_FALSE(keywords.Matches("don't stop"));
  EXPECT_FALSE(keywords.Matches("weekend"));
}

TEST(OptOutKeywords, EmptyOrPunctuationOnlyMessageNeverMatches) {
  OptOutKeywords keywords(DefaultKeywords());
  EXPECT_FALSE(keywords.Matches(""));
  EXPECT_FALSE(keywords.Matches("   "));
  EXPECT_FALSE(keywords.Matches("?!."));
}

TEST(OptOutKeywords, KeywordsAreNormalisedAtConstruction) {
  OptOutKeywords keywords({"  Opt   Out! ", "para"});
  EXPECT_TRUE(keywords.Matches("OPT OUT"));
  EXPECT_TRUE(keywords.Matches("opt out"));
  EXPECT_TRUE(keywords.Matches("PARA."));
  EXPECT_FALSE(keywords.Matches("stop"));  // Only the configured keywords count.
}

TEST(OptOutKeywords, KeywordThatNormalisesToNothingMatchesNothing) {
  OptOutKeywords keywords({"!!!", " "});
  EXPECT_FALSE(keywords.Matches("!!!"));
  EXPECT_FALSE(keywords.Matches(""));
  EXPECT_FALSE(keywords.Matches("?"));
}

TEST(OptOutKeywords, NoKeywordsMatchNothing) {
  OptOutKeywords keywords({});
  EXPECT_FALSE(keywords.Matches("STOP"));
  EXPECT_FALSE(keywords.Matches(""));
}

TEST(OptOutKeywords, NormaliseTrimsFoldsAndUpperCases) {
  EXPECT_EQ(OptOutKeywords::Normalise("  stop! "), "STOP");
  EXPECT_EQ(OptOutKeywords::Normalise("a \t\n b"), "A B");
  EXPECT_EQ(OptOutKeywords::Normalise("Stop  All"), "STOP ALL");
  EXPECT_EQ(OptOutKeywords::Normalise("..."), "");
  EXPECT_EQ(OptOutKeywords::Normalise(""), "");
}

TEST(OptOutKeywords, MessageLongerThanSixtyFourCharactersIsNotAKeyword) {
  const std::string at_limit(64, 'x');
  const std::string past_limit(65, 'x');
  EXPECT_EQ(OptOutKeywords::Normalise(at_limit), std::string(64, 'X'));
  EXPECT_EQ(OptOutKeywords::Normalise(past_limit), "");
  // The limit applies after trimming: surrounding spaces do not count.
  EXPECT_EQ(OptOutKeywords::Normalise("   " + at_limit + "!!  "), std::string(64, 'X'));
  OptOutKeywords keywords({at_limit, past_limit});
  EXPECT_TRUE(keywords.Matches(at_limit));
  EXPECT_FALSE(keywords.Matches(past_limit));
}

}  // namespace
}  // namespace wapolicy
