// The legal plug-in's value normalizers as plain functions (numbers, money, dates, durations, rates,
// parties, the Art. 470 checklist), then legal.values and legal.completeness through the real
// plug-in loader. Every test string here is written for this file.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "amount_parser.h"
#include "civil_date.h"
#include "completeness.h"
#include "core/registry.h"
#include "language.h"
#include "normalize_date.h"
#include "normalize_duration.h"
#include "normalize_money.h"
#include "normalize_rate.h"
#include "numerals.h"
#include "parties.h"
#include "plugin/plugin_host.h"
#include "value_format.h"

namespace ds::legal {
namespace {

std::string piece(std::string_view s, size_t begin, size_t end) { return std::string(s.substr(begin, end - begin)); }

// ---- numbers ----

double chinese(std::string_view s) {
  auto n = parse_chinese_number(s, 0);
  EXPECT_TRUE(n.has_value()) << s;
  return n ? n->value : -1;
}

TEST(Numerals, ReadsCapitalAndLowerCaseChineseNumerals) {
  EXPECT_EQ(chinese("伍拾万"), 500000);
  EXPECT_EQ(chinese("壹佰万零伍仟"), 1005000);
  EXPECT_EQ(chinese("十五"), 15);
  EXPECT_EQ(chinese("一百零五"), 105);
  EXPECT_EQ(chinese("一千二百三十四"), 1234);
  EXPECT_EQ(chinese("两万"), 20000);
  EXPECT_EQ(chinese("三亿五千万"), 350000000);
  EXPECT_EQ(chinese("一万亿"), 1e12);
  EXPECT_EQ(chinese("貳拾"), 20);  // traditional capital
  EXPECT_EQ(chinese("零"), 0);
  EXPECT_EQ(chinese("三点五"), 3.5);
  EXPECT_EQ(chinese("零点五"), 0.5);
}

TEST(Numerals, ReadsDigitByDigitYearsAndColloquialShortForms) {
  auto year = parse_chinese_number("二〇二四年", 0);
  ASSERT_TRUE(year);
  EXPECT_EQ(year->value, 2024);
  EXPECT_TRUE(year->positional);
  EXPECT_EQ(chinese("二○二四"), 2024);  // the circle U+25CB some documents use for 〇
  EXPECT_EQ(chinese("一万二"), 12000);
  EXPECT_EQ(chinese("三千五"), 3500);
  EXPECT_EQ(chinese("一百二"), 120);
  EXPECT_EQ(chinese("十二"), 12);  // not colloquial: 十 is below 百
}

TEST(Numerals, MixesFiguresWithChineseUnits) {
  EXPECT_EQ(chinese("50万"), 500000);
  EXPECT_DOUBLE_EQ(chinese("1.2亿"), 1.2e8);
  EXPECT_EQ(chinese("3千万"), 3e7);
  EXPECT_EQ(chinese("1亿2000万"), 1.2e8);
  auto plain = parse_chinese_number("500,000元", 0);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->value, 500000);
  EXPECT_FALSE(plain->chinese);
  EXPECT_TRUE(plain->figures);
}

TEST(Numerals, StopsWhereTheNumberStops) {
  auto n = parse_chinese_number("一千二三", 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->value, 1200);
  EXPECT_EQ(n->end, std::string("一千二").size());
  EXPECT_FALSE(parse_chinese_number("百", 0));
  EXPECT_FALSE(parse_chinese_number("万一", 0));
  EXPECT_FALSE(parse_chinese_number("合同", 0));
  EXPECT_FALSE(parse_chinese_number("", 0));
  EXPECT_FALSE(parse_chinese_number("5", 7));  // past the end
}

TEST(Numerals, ReadsFullWidthAndSeparatedFigures) {
  auto fw = parse_figures("８０，０００元", 0);
  ASSERT_TRUE(fw);
  EXPECT_EQ(fw->value, 80000);
  EXPECT_EQ(fw->end, std::string("８０，０００").size());
  EXPECT_EQ(parse_figures("1,234.56", 0)->value, 1234.56);
  EXPECT_EQ(parse_figures("０．５", 0)->value, 0.5);
  // A separator needs exactly three digits after it.
  EXPECT_EQ(parse_figures("1,23", 0)->end, 1u);
  EXPECT_EQ(parse_figures("1,2345", 0)->end, 1u);
  EXPECT_EQ(parse_figures("5.", 0)->end, 1u);
  EXPECT_FALSE(parse_figures("x5", 0));
  auto huge = parse_figures(std::string(400, '9'), 0);
  ASSERT_TRUE(huge);
  EXPECT_FALSE(std::isfinite(huge->value));
}

TEST(Numerals, ReadsEnglishNumberWordsAndOrdinals) {
  auto v = [](std::string_view s) {
    auto n = parse_english_number(s, 0);
    return n ? n->value : -1.0;
  };
  EXPECT_EQ(v("thirty"), 30);
  EXPECT_EQ(v("Twenty-Five days"), 25);
  EXPECT_EQ(v("one hundred and five"), 105);
  EXPECT_EQ(v("one hundred thousand dollars"), 100000);
  EXPECT_EQ(v("two million five hundred thousand"), 2500000);
  EXPECT_EQ(v("five five"), 5);  // stops at the second unit word
  EXPECT_EQ(v("someone"), -1);
  EXPECT_EQ(v("tenant"), -1);  // "ten" glued to letters is not a number
  EXPECT_EQ(parse_ordinal("1st day", 0)->first, 1);
  EXPECT_EQ(parse_ordinal("22nd", 0)->first, 22);
  EXPECT_EQ(parse_ordinal("twenty-first", 0)->first, 21);
  EXPECT_EQ(parse_ordinal("thirty first", 0)->first, 31);
  EXPECT_EQ(parse_ordinal("first", 0)->first, 1);
  EXPECT_FALSE(parse_ordinal("1stop", 0));
}

TEST(ValueFormat, WritesPlainDecimalsWithoutTrailingZeros) {
  EXPECT_EQ(format_decimal(0.0005), "0.0005");
  EXPECT_EQ(format_decimal(3.0), "3");
  EXPECT_EQ(format_decimal(0.1 + 0.2), "0.3");
  EXPECT_EQ(format_decimal(-0.0), "0");
  EXPECT_EQ(format_decimal(INFINITY), "");
  EXPECT_EQ(format_decimal(NAN), "");
  EXPECT_EQ(format_money_value(500000), "500000.00");
  EXPECT_EQ(format_money_value(INFINITY), "");
}

TEST(Language, DetectsChineseAndEnglish) {
  EXPECT_EQ(detect_language("本合同由甲乙双方签订。"), Language::kZh);
  EXPECT_EQ(detect_language("This Agreement is made between the parties."), Language::kEn);
  EXPECT_EQ(detect_language(""), Language::kEn);
  EXPECT_EQ(detect_language("甲方应支付USD 100。"), Language::kZh);
  EXPECT_EQ(resolve_language(Language::kEn, "全是中文"), Language::kEn);
}

// ---- money ----

std::vector<std::string> money(std::string_view s, MoneyOptions options = {}) {
  std::vector<std::string> out;
  for (const Money& m : find_money(s, options)) {
    std::string line = piece(s, m.begin, m.end) + "=" + format_money_value(m.value) + " " + m.currency;
    if (m.form != "figures") line += " " + m.form;
    for (const std::string& w : m.warnings) line += " !" + w;
    out.push_back(line);
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(Money, CapitalNumeralsWithYuanJiaoFen) {
  EXPECT_EQ(money("服务费为人民币伍拾万元整。"), Strings{"人民币伍拾万元整=500000.00 CNY words"});
  EXPECT_EQ(money("共计壹佰万零伍仟元"), Strings{"壹佰万零伍仟元=1005000.00 CNY words"});
  EXPECT_EQ(money("伍仟元伍角叁分"), Strings{"伍仟元伍角叁分=5000.53 CNY words"});
  EXPECT_EQ(money("壹万元零伍分"), Strings{"壹万元零伍分=10000.05 CNY words"});
  EXPECT_EQ(money("租金三万元每月"), Strings{"三万元=30000.00 CNY words"});
  EXPECT_EQ(money("人民币 伍拾万 元"), Strings{"人民币 伍拾万 元=500000.00 CNY words"});
}

TEST(Money, LowerCaseSingleDigitsBeforeYuanAreWordsNotMoney) {
  EXPECT_TRUE(money("坚持统一元素和二元结构").empty());
  EXPECT_EQ(money("十元"), Strings{"十元=10.00 CNY words"});
}

TEST(Money, FiguresWithUnitsAndCurrencyMarkers) {
  MoneyOptions en;
  en.language = Language::kEn;
  EXPECT_EQ(money("总价50万元，预算1.2亿元"), (Strings{"50万元=500000.00 CNY", "1.2亿元=120000000.00 CNY"}));
  EXPECT_EQ(money("a fee of USD 1.5 million", en), Strings{"USD 1.5 million=1500000.00 USD"});
  EXPECT_EQ(money("pay $2,000,000.00 now", en), Strings{"$2,000,000.00=2000000.00 USD"});
  EXPECT_EQ(money("HK$200, S$300, £40, €5, GBP 6, JPY 700", en),
            (Strings{"HK$200=200.00 HKD", "S$300=300.00 SGD", "£40=40.00 GBP", "€5=5.00 EUR", "GBP 6=6.00 GBP",
                     "JPY 700=700.00 JPY"}));
  EXPECT_EQ(money("RMB500,000 and 12 US dollars and 8 euros", en),
            (Strings{"RMB500,000=500000.00 CNY", "12 US dollars=12.00 USD", "8 euros=8.00 EUR"}));
  EXPECT_EQ(money("港币100万元"), Strings{"港币100万元=1000000.00 HKD"});
  EXPECT_EQ(money("５元及８０，０００元"), (Strings{"５元=5.00 CNY", "８０，０００元=80000.00 CNY"}));
}

TEST(Money, MixedScripts) {
  EXPECT_EQ(money("壹佰万零5千元"), Strings{"壹佰万零5千元=1005000.00 CNY"});
  EXPECT_EQ(money("1万2千元"), Strings{"1万2千元=12000.00 CNY"});
  EXPECT_EQ(money("USD五百万"), Strings{"USD五百万=5000000.00 USD words"});
  EXPECT_EQ(money("1.5 million US dollars", {Language::kEn}), Strings{"1.5 million US dollars=1500000.00 USD"});
  EXPECT_EQ(money("人民币１２万元整"), Strings{"人民币１２万元整=120000.00 CNY"});
}

TEST(Money, NumbersWithoutACurrencyAreNotMoney) {
  EXPECT_TRUE(money("利率0.05%，共3台，第5条，2024年").empty());
  EXPECT_TRUE(money("USDA 5 euroscope 6 a$8").empty());
  EXPECT_TRUE(money(".5元").empty());  // a fraction with its leading digit missing, not 5 yuan
}

TEST(Money, EnglishNumberWords) {
  MoneyOptions en;
  en.language = Language::kEn;
  EXPECT_EQ(money("five million euros", en), Strings{"five million euros=5000000.00 EUR words"});
  EXPECT_EQ(money("the sum of one hundred thousand dollars (US$100,000)", en),
            Strings{"one hundred thousand dollars (US$100,000)=100000.00 USD words+figures"});
  EXPECT_EQ(money("One Hundred Thousand ($100,000) Dollars", en),
            Strings{"One Hundred Thousand ($100,000) Dollars=100000.00 USD words+figures"});
  EXPECT_TRUE(money("one party and two others", en).empty());
}

TEST(Money, CrossChecksCapitalAgainstFigures) {
  EXPECT_EQ(money("人民币伍拾万元整（¥500,000.00）"),
            Strings{"人民币伍拾万元整（¥500,000.00）=500000.00 CNY words+figures"});
  EXPECT_EQ(money("人民币伍拾万元整(￥500,000元)"),
            Strings{"人民币伍拾万元整(￥500,000元)=500000.00 CNY words+figures"});
  EXPECT_EQ(money("伍拾万元(小写:500000元)"), Strings{"伍拾万元(小写:500000元)=500000.00 CNY words+figures"});
  EXPECT_EQ(money("伍拾万元，小写：¥500,000.00"), Strings{"伍拾万元，小写：¥500,000.00=500000.00 CNY words+figures"});
  EXPECT_EQ(money("人民币伍拾万元整(500,000.00)"), Strings{"人民币伍拾万元整(500,000.00)=500000.00 CNY words+figures"});
  // Figures first, the capital form in parentheses.
  EXPECT_EQ(money("¥500,000.00元(大写:伍拾万元整)"),
            Strings{"¥500,000.00元(大写:伍拾万元整)=500000.00 CNY words+figures"});
}

TEST(Money, ReportsTheWordsValueAndAWarningWhenThePairDisagrees) {
  auto found = find_money("人民币伍拾万元整(小写:50000元)", {});
  ASSERT_EQ(found.size(), 1u);
  const Money& m = found[0];
  EXPECT_EQ(m.value, 500000);
  EXPECT_EQ(m.words_value, 500000);
  EXPECT_EQ(m.figures_value, 50000);
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_EQ(m.warnings[0], "amount in words (500000) and in figures (50000) disagree");
  EXPECT_EQ(money("one hundred dollars (US$1,000)", {Language::kEn}),
            Strings{"one hundred dollars (US$1,000)=100.00 USD words+figures !amount in words (100) and in figures "
                    "(1000) disagree"});
}

TEST(Money, TwoFiguresOrTwoWordsAreNotACrossCheckPair) {
  // 50万元 is figures with a unit: beside ¥500,000 it is a second mention, not a 大写/小写 pair.
  EXPECT_EQ(money("人民币50万元(¥500,000.00)"), (Strings{"人民币50万元=500000.00 CNY", "¥500,000.00=500000.00 CNY"}));
  EXPECT_EQ(money("人民币三万元(30台)"), Strings{"人民币三万元=30000.00 CNY words"});
}

TEST(Money, YenSignFollowsTheOptionAndTheDocument) {
  MoneyOptions zh;
  EXPECT_EQ(find_money("价格¥5,000", zh)[0].currency, "CNY");
  EXPECT_EQ(find_money("价格¥5,000", zh)[0].currency_basis, "document language");
  MoneyOptions jpy;
  jpy.yen_sign = "JPY";
  EXPECT_EQ(find_money("価格は¥3,000です", jpy)[0].currency, "JPY");
  EXPECT_EQ(find_money("¥5日元", {})[0].currency, "JPY");  // the word after the number decides
  MoneyOptions en;
  en.language = Language::kEn;
  EXPECT_EQ(find_money("The fee is ¥9,000 payable in Tokyo, Japan.", en)[0].currency, "JPY");
  EXPECT_EQ(find_money("The fee is ¥9,000 (RMB) payable in Shanghai, China.", en)[0].currency, "CNY");
  auto unsure = find_money("The fee is ¥9,000.", en);
  ASSERT_EQ(unsure.size(), 1u);
  EXPECT_EQ(unsure[0].currency, "CNY");
  ASSERT_EQ(unsure[0].warnings.size(), 1u);
  EXPECT_NE(unsure[0].warnings[0].find("yuan or yen"), std::string::npos);
  EXPECT_EQ(resolve_yen_sign("anything", Language::kEn, "JPY").basis, "yen_sign option");
}

TEST(Money, DollarSignAloneIsUsdAndTheBasisIsRecorded) {
  MoneyOptions en;
  en.language = Language::kEn;
  auto m = find_money("Price: $2,000", en);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].currency, "USD");
  EXPECT_EQ(m[0].currency_basis, "symbol");
  EXPECT_EQ(find_money("500 dollars", en)[0].currency_basis, "word");
  EXPECT_EQ(find_money("USD 5", en)[0].currency_basis, "code");
}

TEST(Money, OverflowAndGarbageNeverCrash) {
  auto big = find_money("99999999999亿元", {});
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].value, 99999999999e8);
  ASSERT_EQ(big[0].warnings.size(), 1u);
  EXPECT_EQ(big[0].warnings[0], "implausibly large amount; check the text");
  auto endless = find_money(std::string(400, '9') + "元", {});
  ASSERT_EQ(endless.size(), 1u);
  EXPECT_FALSE(std::isfinite(endless[0].value));
  EXPECT_EQ(endless[0].warnings[0], "the number is too long to read");
  EXPECT_TRUE(find_money("", {}).empty());
  EXPECT_TRUE(find_money("¥", {}).empty());
  EXPECT_TRUE(find_money("人民币", {}).empty());
  EXPECT_TRUE(find_money("\xE4\xBA", {}).empty());  // a cut UTF-8 character
  EXPECT_TRUE(find_money(std::string("\0\xFF\xFE元", 4), {}).empty());
  std::string nested;
  for (int i = 0; i < 2000; ++i) nested += "one (";
  EXPECT_TRUE(find_money(nested, {Language::kEn}).empty());  // no deep recursion on nested parentheses
}

// legal.amounts keeps its figures-only behaviour (pinned against the original parser's output).
TEST(Money, AmountsStageViewIsFiguresOnly) {
  auto got = [](std::string_view s) {
    Strings out;
    for (const MoneyAmount& a : find_money_amounts(s))
      out.push_back(piece(s, a.begin, a.end) + "=" + format_money_value(a.value) + " " + a.currency);
    return out;
  };
  EXPECT_EQ(got("合同总价为人民币50万元(¥500,000.00),预付款RMB 120,000元。USD 1.5 million, or $2,000 per month."),
            (Strings{"人民币50万元=500000.00 CNY", "¥500,000.00=500000.00 CNY", "RMB 120,000元=120000.00 CNY",
                     "USD 1.5 million=1500000.00 USD", "$2,000=2000.00 USD"}));
  EXPECT_EQ(got("人民币伍拾万元整(¥500,000元)"), Strings{"¥500,000元=500000.00 CNY"});
  EXPECT_EQ(got("3千元 and 3 thousand dollars and 2 billion USD"),
            (Strings{"3千元=3000.00 CNY", "3 thousand dollars=3000.00 USD", "2 billion USD=2000000000.00 USD"}));
  EXPECT_EQ(got("HK$200 HKD 300 EUR"), (Strings{"HK$200 HKD=200.00 HKD", "300 EUR=300.00 EUR"}));
  EXPECT_EQ(got("500000元整 1,234.56元 1,23元 1,2345元 .5元 5.元"),
            (Strings{"500000元=500000.00 CNY", "1,234.56元=1234.56 CNY"}));
  EXPECT_EQ(got("人民币50万美元 $5元 RMB5USD"), (Strings{"人民币50万=500000.00 CNY", "$5=5.00 USD", "RMB5=5.00 CNY"}));
}

// ---- durations ----

Strings durations(std::string_view s) {
  Strings out;
  for (const Duration& d : find_durations(s)) {
    std::string line =
        piece(s, d.begin, d.end) + "=" + format_decimal(d.value) + " " + std::string(duration_unit_name(d.unit));
    for (const std::string& w : d.warnings) line += " !" + w;
    out.push_back(line);
  }
  return out;
}

TEST(Duration, ChineseUnits) {
  EXPECT_EQ(durations("有效期三年，试用期六个月，付款期30日，验收期三十天，十五个工作日内，两周，3年"),
            (Strings{"三年=3 year", "六个月=6 month", "30日=30 day", "三十天=30 day", "十五个工作日=15 business_day",
                     "两周=2 week", "3年=3 year"}));
  EXPECT_EQ(durations("一年半，三个半月，半年，五周年"),
            (Strings{"一年半=1.5 year", "三个半月=3.5 month", "半年=0.5 year", "五周年=5 year"}));
}

TEST(Duration, ChineseDateLikeNumbersAreNotDurations) {
  EXPECT_TRUE(durations("2024年3月1日").empty());
  EXPECT_TRUE(durations("二〇二四年").empty());
  EXPECT_TRUE(durations("每月5日前付清").empty());
  EXPECT_TRUE(durations("第三年起").empty());
  EXPECT_TRUE(durations("2024年度预算").empty());
  EXPECT_TRUE(durations("6月份").empty());  // June, not six months
}

TEST(Duration, EnglishUnits) {
  EXPECT_EQ(durations("thirty (30) days, two years, 90 business days, a 90-day period, six-month term, 3 weeks"),
            (Strings{"thirty (30) days=30 day", "two years=2 year", "90 business days=90 business_day", "90-day=90 day",
                     "six-month=6 month", "3 weeks=3 week"}));
  EXPECT_EQ(durations("ten working days and 15 calendar days"),
            (Strings{"ten working days=10 business_day", "15 calendar days=15 day"}));
  EXPECT_EQ(durations("Thirty (20) Days"), Strings{"Thirty (20) Days=30 day !words say 30 but figures say 20"});
  EXPECT_TRUE(durations("30days, the day, one party, business").empty());
}

TEST(Duration, ParsesAtAPositionAndDescribes) {
  auto d = parse_duration_at("within 5 years", 7);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, 5);
  EXPECT_EQ(d->unit, DurationUnit::kYear);
  EXPECT_FALSE(parse_duration_at("within 5 years", 100));
  EXPECT_EQ(describe_duration(1, DurationUnit::kMonth), "1 month");
  EXPECT_EQ(describe_duration(15, DurationUnit::kBusinessDay), "15 business days");
  EXPECT_EQ(describe_duration(0.5, DurationUnit::kYear), "0.5 years");
}

TEST(Duration, MalformedInputNeverCrashes) {
  EXPECT_TRUE(find_durations("").empty());
  EXPECT_TRUE(find_durations("个月工作日天").empty());
  EXPECT_TRUE(find_durations(std::string(300, '9') + "天").empty());  // not finite: not a duration
  EXPECT_EQ(durations("９０天"), Strings{"９０天=90 day"});
}

// ---- rates ----

Strings rates(std::string_view s) {
  Strings out;
  for (const Rate& r : find_rates(s)) {
    std::string line = piece(s, r.begin, r.end) + "=" + format_decimal(r.value);
    if (r.per != RatePer::kNone) {
      line += '/';
      line += rate_per_name(r.per);
    }
    for (const std::string& w : r.warnings) line += " !" + w;
    out.push_back(line);
  }
  return out;
}

TEST(Rate, ChineseFractionsAndPeriods) {
  EXPECT_EQ(rates("日万分之五"), Strings{"日万分之五=0.0005/day"});
  EXPECT_EQ(rates("按日万分之五计收"), Strings{"按日万分之五=0.0005/day"});
  EXPECT_EQ(rates("每日千分之三"), Strings{"每日千分之三=0.003/day"});
  EXPECT_EQ(rates("违约金为合同总额的百分之二十"), Strings{"百分之二十=0.2"});
  EXPECT_EQ(rates("年利率6%"), Strings{"年利率6%=0.06/year"});
  EXPECT_EQ(rates("逾期的，每日按合同总额的0.05%支付违约金"), Strings{"0.05%=0.0005/day"});
  EXPECT_EQ(rates("承租方逾期支付的，每日按欠付金额的千分之一支付"), Strings{"千分之一=0.001/day"});
  EXPECT_EQ(rates("月息1.5%，百分之零点五"), (Strings{"月息1.5%=0.015/month", "百分之零点五=0.005"}));
  EXPECT_EQ(rates("0.05%/日"), Strings{"0.05%/日=0.0005/day"});
  EXPECT_EQ(rates("合同总额２０％"), Strings{"２０％=0.2"});
  EXPECT_EQ(rates("5‰"), Strings{"5‰=0.005"});
}

TEST(Rate, EnglishPercentagesAndPeriods) {
  EXPECT_EQ(rates("0.05% per day"), Strings{"0.05% per day=0.0005/day"});
  EXPECT_EQ(rates("interest of 1.5% per month"), Strings{"1.5% per month=0.015/month"});
  EXPECT_EQ(rates("6 per cent per annum"), Strings{"6 per cent per annum=0.06/year"});
  EXPECT_EQ(rates("an annual rate of 4%"), Strings{"4%=0.04/year"});
  EXPECT_EQ(rates("ten percent (10%)"), Strings{"ten percent (10%)=0.1"});
  EXPECT_EQ(rates("twenty percent (15%)"),
            Strings{"twenty percent (15%)=0.2 !words say 20 percent but figures say 15%"});
}

TEST(Rate, APeriodInAnEarlierClauseDoesNotCarryOver) {
  // The comma ends the clause that holds 每日.
  EXPECT_EQ(rates("每日检查一次，违约金为20%"), Strings{"20%=0.2"});
}

TEST(Rate, MalformedInputNeverCrashes) {
  EXPECT_TRUE(find_rates("").empty());
  EXPECT_TRUE(find_rates("%%% 百分之 千分之x ten %").empty());
  EXPECT_TRUE(find_rates(std::string(400, '9') + "%").empty());
  EXPECT_TRUE(find_rates("version 1.5.2%").size() <= 1u);
}

// ---- dates ----

TEST(CivilDate, ArithmeticClampsAndSkipsWeekends) {
  EXPECT_EQ(to_iso(*add_months({2024, 1, 31}, 1)), "2024-02-29");
  EXPECT_EQ(to_iso(*add_months({2023, 1, 31}, 1)), "2023-02-28");
  EXPECT_EQ(to_iso(*add_months({2024, 3, 1}, 60)), "2029-03-01");
  EXPECT_EQ(to_iso(*add_months({2024, 3, 1}, -3)), "2023-12-01");
  EXPECT_EQ(to_iso(*add_days({2024, 2, 28}, 2)), "2024-03-01");
  EXPECT_EQ(weekday({2024, 3, 1}), 4);  // a Friday
  EXPECT_EQ(to_iso(*add_business_days({2024, 3, 1}, 1)), "2024-03-04");
  EXPECT_EQ(to_iso(*add_business_days({2024, 3, 2}, 5)), "2024-03-08");   // from a Saturday
  EXPECT_EQ(to_iso(*add_business_days({2024, 3, 3}, -1)), "2024-03-01");  // back from a Sunday
  EXPECT_EQ(to_iso(*add_business_days({2024, 3, 1}, 10)), "2024-03-15");
  EXPECT_FALSE(add_months({9999, 12, 1}, 1));
  EXPECT_FALSE(add_days({1, 1, 1}, -1));
  EXPECT_FALSE(add_business_days({2024, 1, 1}, 1'000'000'000));
  EXPECT_FALSE(from_iso("2023-02-29"));
  EXPECT_EQ(*from_iso("2024-02-29"), (CivilDate{2024, 2, 29}));
  // Day-by-day walking agrees with the weekly shortcut.
  for (int start = 1; start <= 14; ++start) {
    for (int n = -12; n <= 12; ++n) {
      CivilDate d{2024, 3, start};
      long long days = to_days(d);
      for (long long left = std::llabs(n); left > 0;) {
        days += n > 0 ? 1 : -1;
        if (weekday(from_days(days)) < 5) --left;
      }
      EXPECT_EQ(to_iso(*add_business_days(d, n)), to_iso(from_days(days))) << start << " " << n;
    }
  }
}

Strings dates(std::string_view s, Language language = Language::kAuto, const AnchorDates& known = {}) {
  Strings out;
  for (const DateMention& d : normalize_dates(s, language, known)) {
    std::string line = piece(s, d.begin, d.end) + "=" + d.value;
    if (d.relative) line += " [" + d.anchor + "] " + d.derivation;
    for (const std::string& w : d.warnings) line += " !" + w;
    out.push_back(line);
  }
  return out;
}

TEST(Date, ChineseAndNumericForms) {
  EXPECT_EQ(dates("2024年3月1日、二〇二四年三月一日、2024-03-01、2024/3/1、2024.3.1"),
            (Strings{"2024年3月1日=2024-03-01", "二〇二四年三月一日=2024-03-01", "2024-03-01=2024-03-01",
                     "2024/3/1=2024-03-01", "2024.3.1=2024-03-01"}));
  EXPECT_EQ(dates("二〇二四年十二月三十一日"), Strings{"二〇二四年十二月三十一日=2024-12-31"});
  EXPECT_EQ(dates("2024年3月"), Strings{"2024年3月=2024-03"});
  EXPECT_EQ(dates("于3月1日前"), Strings{"3月1日=--03-01 !no year given"});
  EXPECT_EQ(dates("２０２４年３月１日"), Strings{"２０２４年３月１日=2024-03-01"});
  EXPECT_EQ(dates("2024 年 3 月 1 日"), Strings{"2024 年 3 月 1 日=2024-03-01"});
}

TEST(Date, EnglishForms) {
  EXPECT_EQ(dates("March 1, 2024; 1 March 2024; the 1st day of March, 2024; Mar. 1st 2024; March 2024"),
            (Strings{"March 1, 2024=2024-03-01", "1 March 2024=2024-03-01", "1st day of March, 2024=2024-03-01",
                     "Mar. 1st 2024=2024-03-01", "March 2024=2024-03"}));
  EXPECT_EQ(dates("this first day of March 2024"), Strings{"first day of March 2024=2024-03-01"});
  EXPECT_EQ(dates("on 03/01/2024", Language::kEn), Strings{"03/01/2024=2024-03-01"});
  EXPECT_EQ(dates("on 13/01/2024", Language::kEn),
            Strings{"13/01/2024=2024-01-13 !read as day/month/year (the first number is over 12)"});
  EXPECT_EQ(dates("于03/01/2024", Language::kZh),
            Strings{"03/01/2024=2024-03-01 !numeric date order assumed month/day/year"});
}

TEST(Date, NotDates) {
  EXPECT_TRUE(dates("they may march in May").empty());  // lower-case month words are verbs
  EXPECT_TRUE(dates("每月5日前付清").empty());
  EXPECT_TRUE(dates("version 1.2.3, phone 010-1234-5678, 1.2.2024.5").empty());
  EXPECT_TRUE(dates("March 1").empty());  // no year
  EXPECT_TRUE(dates("13/45/2024 and 2024-13-01").empty());
}

TEST(Date, ImpossibleDatesAreFlaggedNotInvented) {
  EXPECT_EQ(dates("2023年2月30日"), Strings{"2023年2月30日= !no such calendar date"});
  EXPECT_EQ(dates("February 29, 2023"), Strings{"February 29, 2023= !no such calendar date"});
  EXPECT_EQ(dates("2月30日"), Strings{"2月30日= !no such calendar date"});
  EXPECT_EQ(dates("2月29日"), Strings{"2月29日=--02-29 !no year given"});
}

TEST(Date, RelativeDatesResolveAgainstTheDocumentsEffectiveDate) {
  const std::string contract =
      "This Agreement is entered into as of March 1, 2024 (the \"Effective Date\"). The term ends five (5) years "
      "after the Effective Date. Payment is due within thirty (30) days of receipt of the invoice.";
  EXPECT_EQ(dates(contract),
            (Strings{"March 1, 2024=2024-03-01",
                     "five (5) years after the Effective Date=2029-03-01 [effective] Effective Date 2024-03-01 + 5 "
                     "years = 2029-03-01",
                     "within thirty (30) days of receipt of the invoice= [receipt] receipt + 30 days (anchor date "
                     "unknown)"}));
  // A caller that knows the receipt date passes it in.
  AnchorDates known{{"receipt", {2024, 4, 10}}};
  EXPECT_EQ(dates(contract, Language::kAuto, known).back(),
            "within thirty (30) days of receipt of the invoice=2024-05-10 [receipt] receipt 2024-04-10 + 30 days = "
            "2024-05-10");
}

TEST(Date, ChineseRelativeDates) {
  const std::string contract =
      "本合同于2024年3月1日签订，自双方签字盖章之日起生效，自合同生效之日起三年内有效。"
      "乙方应在收到发票后十五个工作日内付款。合同期满前三十日书面通知。提前三十日通知对方。";
  EXPECT_EQ(dates(contract),
            (Strings{"2024年3月1日=2024-03-01",
                     "自合同生效之日起三年内=2027-03-01 [effective] Effective Date 2024-03-01 + 3 years = 2027-03-01",
                     "收到发票后十五个工作日内= [receipt] receipt + 15 business days (anchor date unknown)",
                     "合同期满前三十日= [termination] termination - 30 days (anchor date unknown)"}));
}

TEST(Date, ChineseAnchorWordsStartAfterNumberingAndOpeners) {
  auto first = [](const std::string& s) {
    auto found = normalize_dates(s, Language::kZh);
    return found.empty() ? std::string("-") : piece(s, found[0].begin, found[0].end) + " [" + found[0].anchor + "]";
  };
  EXPECT_EQ(first("4.2 全部货物验收合格后十五个工作日内付清。"), "全部货物验收合格后十五个工作日内 [acceptance]");
  EXPECT_EQ(first("（1）本合同签订后三日内支付首期款。"), "本合同签订后三日内 [sign]");
  EXPECT_EQ(first("乙方应在收到发票后十日内付款。"), "收到发票后十日内 [receipt]");
  EXPECT_EQ(first("保密义务自本协议生效之日起至本协议终止后五年内有效。"), "本协议终止后五年内 [termination]");
  EXPECT_EQ(first("乙方在职期间及离职后一年内不得泄密。"), "乙方在职期间及离职后一年内 [other]");
  EXPECT_EQ(first("补偿标准为乙方在本合同解除前十二个月的平均工资。"), "本合同解除前十二个月 [termination]");
}

TEST(Date, AnExplicitDateIsItsOwnAnchor) {
  EXPECT_EQ(dates("自2024年3月1日起两年"),
            Strings{"自2024年3月1日起两年=2026-03-01 [date] 2024-03-01 + 2 years = 2026-03-01"});
  EXPECT_EQ(dates("ending three years from March 1, 2024."),
            Strings{"three years from March 1, 2024=2027-03-01 [date] 2024-03-01 + 3 years = 2027-03-01"});
  EXPECT_EQ(dates("60 days prior to June 30, 2025"),
            Strings{"60 days prior to June 30, 2025=2025-05-01 [date] 2025-06-30 - 60 days = 2025-05-01"});
}

TEST(Date, BusinessDaysAndMonthEndsInDerivations) {
  const std::string s =
      "Effective Date: 2024-01-31. Report 1 month after the Effective Date and pay 10 business "
      "days after the Effective Date.";
  auto found = normalize_dates(s, Language::kEn);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[1].value, "2024-02-29");
  EXPECT_EQ(found[2].value, "2024-02-14");
  EXPECT_EQ(found[2].derivation,
            "Effective Date 2024-01-31 + 10 business days = 2024-02-14 (weekends skipped; public holidays not known)");
  EXPECT_EQ(found[2].offset.unit, DurationUnit::kBusinessDay);
  EXPECT_FALSE(found[2].within);
}

TEST(Date, AnchorDatesFromTheDocument) {
  auto anchors = [](std::string_view s) {
    std::map<std::string, std::string> out;
    for (const auto& [name, date] : find_anchor_dates(s, find_dates(s, Language::kAuto))) out[name] = to_iso(date);
    return out;
  };
  using Map = std::map<std::string, std::string>;
  EXPECT_EQ(anchors("本合同自2024年5月1日起生效。"), (Map{{"effective", "2024-05-01"}}));
  EXPECT_EQ(anchors("签订日期：2024年3月1日"), (Map{{"sign", "2024-03-01"}}));
  EXPECT_EQ(anchors("本合同于2024年3月1日签订，自双方签字盖章之日起生效。"),
            (Map{{"effective", "2024-03-01"}, {"sign", "2024-03-01"}}));
  EXPECT_EQ(anchors("This Agreement, dated June 2, 2024, is effective upon execution."),
            (Map{{"effective", "2024-06-02"}, {"sign", "2024-06-02"}}));
  EXPECT_EQ(anchors("Delivery on 2024-07-01."), Map{});
}

TEST(Date, AnUnresolvableOffsetKeepsTheUnresolvedForm) {
  AnchorDates known{{"effective", {2024, 3, 1}}};
  auto found = normalize_dates("half a year: 0.5 months after the Effective Date", Language::kEn, known);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].value, "");
  EXPECT_EQ(found[0].derivation, "Effective Date 2024-03-01 + 0.5 months (the offset is not a whole number of months)");
  auto far = normalize_dates("9000 years after the Effective Date", Language::kEn, known);
  ASSERT_EQ(far.size(), 1u);
  EXPECT_EQ(far[0].value, "");
  EXPECT_EQ(far[0].derivation, "Effective Date 2024-03-01 + 9000 years (outside the calendar)");
}

TEST(Date, MalformedInputNeverCrashes) {
  EXPECT_TRUE(normalize_dates("", Language::kAuto).empty());
  EXPECT_TRUE(normalize_dates("年月日 年 月 日 within days of", Language::kAuto).empty());
  EXPECT_TRUE(normalize_dates(std::string(500, '9') + "年" + std::string(500, '9') + "月", Language::kAuto).empty());
  std::string noise;
  for (int i = 0; i < 200; ++i) noise += "自之日起后前内 30 days after ( \" ";
  EXPECT_NO_THROW(normalize_dates(noise, Language::kAuto));
}

// ---- parties ----

std::string party_line(const Party& p) {
  std::string out = p.role_id + ":" + p.name + " [" + p.role + (p.role_alias.empty() ? "" : "/" + p.role_alias) + "]";
  if (!p.address.empty()) out += " @" + p.address;
  return out;
}

Strings parties(std::string_view s) {
  Strings out;
  for (const Party& p : find_parties(s)) out.push_back(party_line(p));
  return out;
}

TEST(Parties, ChinesePartyBlockWithRolesAndAddresses) {
  const std::string block =
      "房屋租赁合同\n"
      "甲方（出租方）：上海示例置业有限公司\n"
      "住所：上海市浦东新区示例路1号\n"
      "法定代表人：李四\n"
      "乙方（承租方）：张三\n"
      "身份证号：310000000000000000\n"
      "地址：上海市徐汇区测试路2号\n"
      "第一条 甲方应于每月五日前交付房屋。\n"
      "甲方（盖章）：\n"
      "乙方（签字）：张三\n";
  EXPECT_EQ(parties(block), (Strings{"party_a:上海示例置业有限公司 [甲方/出租方] @上海市浦东新区示例路1号",
                                     "party_b:张三 [乙方/承租方] @上海市徐汇区测试路2号"}));
  const auto found = find_parties(block);
  EXPECT_EQ(piece(block, found[0].begin, found[0].end), "甲方（出租方）：上海示例置业有限公司");
}

TEST(Parties, ChineseRoleWordsAndDefinitions) {
  EXPECT_EQ(parties("出卖人：某某贸易公司\n买受人：某某餐饮公司\n"),
            (Strings{"seller:某某贸易公司 [出卖人]", "buyer:某某餐饮公司 [买受人]"}));
  EXPECT_EQ(parties("委托方：A研究所\n受托方：B咨询公司\n借款人：王五\n贷款人：某银行\n"),
            (Strings{"principal:A研究所 [委托方]", "agent:B咨询公司 [受托方]", "borrower:王五 [借款人]",
                     "lender:某银行 [贷款人]"}));
  EXPECT_EQ(parties("出租方(甲方):某公司\n"), Strings{"party_a:某公司 [出租方/甲方]"});
  EXPECT_EQ(parties("本合同由北京测试科技有限公司（以下简称“甲方”）与深圳样例电子有限公司（以下简称“乙方”）签订。"),
            (Strings{"party_a:北京测试科技有限公司 [甲方]", "party_b:深圳样例电子有限公司 [乙方]"}));
}

TEST(Parties, BlankTemplateNamesAreKeptWithAWarning) {
  auto found = find_parties("甲方：________\n乙方：\n");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].name, "");
  EXPECT_EQ(found[0].warnings, Strings{"name left blank"});
  // The name filled in later replaces the blank.
  auto later = find_parties("甲方：____\n甲方：某公司\n");
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].name, "某公司");
}

TEST(Parties, EnglishDefinitionsAndLines) {
  EXPECT_EQ(
      parties("This License Agreement is made between ABC Corp., a Delaware corporation with its principal "
              "place of business at 100 Main Street, Wilmington, DE (\"Licensor\"), and XYZ Ltd., a company "
              "organized under the laws of England (\"Licensee\")."),
      (Strings{"licensor:ABC Corp. [Licensor] @100 Main Street, Wilmington, DE", "licensee:XYZ Ltd. [Licensee]"}));
  EXPECT_EQ(parties("This Consulting Agreement is entered into between Acme, Inc. (\"Company\") and Jane Doe, an "
                    "individual residing at 5 Elm Road, Springfield (\"Consultant\")."),
            (Strings{"company:Acme, Inc. [Company]", "consultant:Jane Doe [Consultant] @5 Elm Road, Springfield"}));
  EXPECT_EQ(parties("Buyer: Great Foods Co., Ltd.\nAddress: 88 Harbor Road, Hong Kong\nSeller: Fresh Farms LLC\n"
                    "Registered Address: 1 Farm Lane, Iowa.\n"),
            (Strings{"buyer:Great Foods Co., Ltd. [Buyer] @88 Harbor Road, Hong Kong",
                     "seller:Fresh Farms LLC [Seller] @1 Farm Lane, Iowa"}));
  EXPECT_EQ(parties("XYZ Ltd. (hereinafter referred to as the \"Service Provider\") shall deliver."),
            Strings{"service_provider:XYZ Ltd. [Service Provider]"});
  EXPECT_EQ(parties("between Alpha GmbH (“Acme”) and Beta SA (“Beta”)"),
            (Strings{"acme:Alpha GmbH [Acme]", "beta:Beta SA [Beta]"}));
}

TEST(Parties, DetailsOnThePartyLineAndSignatureRepeats) {
  const std::string block =
      "出借人（甲方）：王某，男，1970年1月出生，身份证号码：110101********0011，住址：北京市某区某路1号\n"
      "借款人（乙方）：某某商贸有限公司，统一社会信用代码：91110000XXXXXXXX，住所：北京市某区某街2号，法定代表人：李某"
      "\n"
      "出借人（签字）：王某\n借款人（盖章）：某某商贸有限公司\n";
  EXPECT_EQ(parties(block), (Strings{"party_a:王某 [出借人/甲方] @北京市某区某路1号",
                                     "party_b:某某商贸有限公司 [借款人/乙方] @北京市某区某街2号"}));
}

TEST(Parties, EnglishPartyLinesWithDescriptorsAndSeveralDefinedNames) {
  EXPECT_EQ(parties("Recipient: Foo Sdn. Bhd., a company incorporated in Malaysia, of 12 Jalan Contoh, Kuala Lumpur "
                    "(\"Foo\")\n"),
            Strings{"recipient:Foo Sdn. Bhd. [Recipient] @12 Jalan Contoh, Kuala Lumpur"});
  EXPECT_EQ(parties("Between: Alpha Realty LP, an Illinois limited partnership (\"we\", \"us\" or the \"Landlord\")\n"
                    "And: Beta Bakery LLC (\"you\" or the \"Tenant\")\n"),
            (Strings{"landlord:Alpha Realty LP [Landlord]", "tenant:Beta Bakery LLC [Tenant]"}));
  // The signature block repeats a defined party in capitals.
  EXPECT_EQ(parties("This Agreement is between Acme Tools Inc. (\"Seller\") and Bolt Works LLC (\"Buyer\").\n"
                    "Seller: ACME TOOLS INC.\nBuyer: BOLT WORKS LLC\n"),
            (Strings{"seller:Acme Tools Inc. [Seller]", "buyer:Bolt Works LLC [Buyer]"}));
}

TEST(Parties, ObligationsUnderARoleAreNotParties) {
  EXPECT_TRUE(find_parties("甲方：应于每月五日前支付租金\n乙方：负责日常维修\n").empty());
  EXPECT_TRUE(find_parties("甲方代表（签字）：\n甲方开户银行：某银行\n").empty());
}

TEST(Parties, DefinedTermsAreNotParties) {
  EXPECT_TRUE(find_parties("The software (\"Products\") and this agreement (the \"Agreement\") between us.").empty());
  EXPECT_TRUE(find_parties("The term \"Effective Date\" means the date hereof.").empty());
  EXPECT_TRUE(find_parties("the goods (\"Widgets\") are sold.").empty());  // not a party role, no "between"
}

TEST(Parties, RoleIds) {
  EXPECT_EQ(role_id_for("甲方"), "party_a");
  EXPECT_EQ(role_id_for("丁方"), "party_d");
  EXPECT_EQ(role_id_for("承租人"), "lessee");
  EXPECT_EQ(role_id_for("Party B"), "party_b");
  EXPECT_EQ(role_id_for(" Employer "), "employer");
  EXPECT_EQ(role_id_for("Service Provider"), "service_provider");
  EXPECT_EQ(role_id_for("Widgets"), "");
}

TEST(Parties, MalformedInputNeverCrashes) {
  EXPECT_TRUE(find_parties("").empty());
  EXPECT_TRUE(find_parties("甲方").empty());
  EXPECT_TRUE(find_parties("(\"\") ( \" (hereinafter").empty());
  EXPECT_TRUE(find_parties("甲方（" + std::string(200, 'x')).empty());
  EXPECT_TRUE(find_parties("乙方：" + std::string(300, 'x') + "\n").empty());  // a sentence, not a name
  EXPECT_NO_THROW(find_parties(std::string(1000, '(') + "\"Buyer\")"));
}

// ---- completeness ----

std::map<std::string, ElementStatus> statuses(const std::vector<ElementCheck>& checks) {
  std::map<std::string, ElementStatus> out;
  for (const ElementCheck& c : checks) out[c.id] = c.status;
  return out;
}

const ElementCheck& element(const std::vector<ElementCheck>& checks, const std::string& id) {
  for (const ElementCheck& c : checks)
    if (c.id == id) return c;
  throw std::runtime_error("no element " + id);
}

const std::string kFullContract =
    "设备买卖合同\n"
    "出卖人：某某机械有限公司\n住所：江苏省某市工业路8号\n"
    "买受人：某某制造有限公司\n住所：浙江省某市开发区9号\n"
    "第一条 标的物：数控机床，型号XK-100，数量10台。\n"
    "第二条 质量标准：符合国家标准GB/T 0000。\n"
    "第三条 价款：合同总价人民币伍拾万元整（¥500,000.00）。\n"
    "第四条 交付：出卖人应于2024年6月30日前将设备运至买受人工厂，交付方式为汽车运输。\n"
    "第五条 违约责任：逾期交货的，每日按合同总价的0.05%支付违约金。\n"
    "第六条 争议解决：因本合同引起的争议，提交上海仲裁委员会仲裁。\n";

TEST(Completeness, AFullContractHasEveryElement) {
  auto checks = check_completeness(kFullContract, {});
  ASSERT_EQ(checks.size(), 8u);
  std::vector<std::string> ids;
  for (const ElementCheck& c : checks) {
    ids.push_back(c.id);
    EXPECT_EQ(c.status, ElementStatus::kPresent) << c.id << ": " << c.basis << " / " << c.note;
  }
  EXPECT_EQ(ids, (Strings{"parties", "subject", "quantity", "quality", "price", "performance", "breach", "dispute"}));
  EXPECT_EQ(element(checks, "parties").basis, "2 named parties with addresses");
  EXPECT_EQ(element(checks, "dispute").basis, "arbitration at '仲裁委员会'");
  EXPECT_EQ(element(checks, "parties").title_zh, "当事人的姓名或者名称和住所");
}

TEST(Completeness, MissingAndAmbiguousElementsAreHints) {
  const std::string thin =
      "服务协议\n甲方：某公司\n乙方：某工作室\n"
      "乙方为甲方提供服务。\n"
      "因本协议发生争议的，双方协商解决；协商不成的，提交仲裁。\n";
  auto checks = check_completeness(thin, {});
  auto s = statuses(checks);
  EXPECT_EQ(s["parties"], ElementStatus::kAmbiguous);
  EXPECT_EQ(element(checks, "parties").note, "no domicile (住所/address) found for 甲方, 乙方");
  EXPECT_EQ(s["subject"], ElementStatus::kAmbiguous);  // only the general word 服务
  EXPECT_EQ(s["quantity"], ElementStatus::kAbsent);
  EXPECT_EQ(s["quality"], ElementStatus::kAbsent);
  EXPECT_EQ(s["price"], ElementStatus::kAbsent);
  EXPECT_EQ(s["performance"], ElementStatus::kAbsent);
  EXPECT_EQ(s["breach"], ElementStatus::kAbsent);
  EXPECT_EQ(s["dispute"], ElementStatus::kAmbiguous);
  EXPECT_EQ(element(checks, "dispute").note,
            "arbitration without a named arbitration institution (仲裁法 Art. 16, 18)");
}

TEST(Completeness, ArbitrationOrLitigationIsFlagged) {
  auto checks = check_completeness("争议解决：双方可向上海仲裁委员会申请仲裁，也可向甲方所在地人民法院起诉。", {});
  EXPECT_EQ(element(checks, "dispute").status, ElementStatus::kAmbiguous);
  EXPECT_NE(element(checks, "dispute").note.find("both offered"), std::string::npos);
  // A court that enforces an award is not a second forum.
  auto award = check_completeness("提交北京仲裁委员会仲裁，仲裁裁决可向有管辖权的法院申请执行。", {});
  EXPECT_EQ(element(award, "dispute").status, ElementStatus::kPresent);
  auto court = check_completeness("协商不成的，任何一方可向甲方所在地人民法院提起诉讼。", {});
  EXPECT_EQ(element(court, "dispute").status, ElementStatus::kPresent);
  auto talk = check_completeness("争议由双方友好协商解决。", {});
  EXPECT_EQ(element(talk, "dispute").status, ElementStatus::kAmbiguous);
}

TEST(Completeness, AgreeingByNegotiationIsNotADisputeClause) {
  auto none = check_completeness("经双方协商一致，签订本合同。", {});
  EXPECT_EQ(element(none, "dispute").status, ElementStatus::kAbsent);
  auto talk = check_completeness("经双方协商一致，签订本合同。履行中发生纠纷的，双方协商解决。", {});
  EXPECT_EQ(element(talk, "dispute").status, ElementStatus::kAmbiguous);
  EXPECT_EQ(element(talk, "dispute").basis, "keyword '协商'");
}

TEST(Completeness, ClauseLabelsDecideBeforeKeywords) {
  const std::string text = "第一条 合同价款\n价款按附件计算。\n第二条 其他\n本合同一式两份。";
  const size_t price_end = text.find("第二条");
  std::vector<ClauseLabel> labels = {{"price", 0, price_end}, {"breach", price_end, text.size()}};
  auto checks = check_completeness(text, labels);
  EXPECT_EQ(element(checks, "price").status, ElementStatus::kAmbiguous);
  EXPECT_EQ(element(checks, "price").basis, "clause label 'price'");
  EXPECT_EQ(element(checks, "breach").status, ElementStatus::kPresent);
  EXPECT_EQ(element(checks, "breach").basis, "clause label 'breach'");
  // An amount only inside a breach clause is not the price.
  const std::string penalty = "第五条 违约责任\n违约方应支付违约金人民币1万元。";
  auto p = check_completeness(penalty, {{"breach", 0, penalty.size()}});
  EXPECT_EQ(element(p, "price").status, ElementStatus::kAbsent);
}

TEST(Completeness, AHeadingLabelCoversItsBodyUpToTheNextLabel) {
  const std::string text =
      "第四条 交付\n出卖人应于2024年6月30日前将设备运至买受人工厂，交付方式为汽车运输。\n"
      "第六条 争议解决\n提交上海仲裁委员会仲裁。\n";
  auto heading = [&](const std::string& id, const std::string& h) {
    const size_t at = text.find(h);
    return ClauseLabel{id, at, at + h.size()};
  };
  // Out of order on purpose: the checklist sorts them.
  auto checks =
      check_completeness(text, {heading("dispute", "第六条 争议解决"), heading("performance", "第四条 交付")});
  EXPECT_EQ(element(checks, "performance").status, ElementStatus::kPresent);
  EXPECT_EQ(element(checks, "performance").basis,
            "clause label 'performance'; time '2024年6月30日', place '运至', manner '交付方式'");
  EXPECT_EQ(element(checks, "dispute").status, ElementStatus::kPresent);
  EXPECT_EQ(element(checks, "dispute").basis, "clause label 'dispute'; arbitration at '仲裁委员会'");
}

TEST(Completeness, EnglishContractsUseTheEnglishKeywords) {
  const std::string en =
      "This Supply Agreement is made between Alpha Inc., a Delaware corporation with its principal place of "
      "business at 1 First Ave, Dover (\"Buyer\"), and Beta Ltd., a company with its registered office at 2 Second "
      "St, London (\"Seller\").\nThe Goods: 500 units of steel pipe conforming to the Specifications.\nPrice: USD "
      "1.5 million, by wire transfer.\nDelivery: no later than March 1, 2025, delivered to Buyer's plant.\nBreach: "
      "liquidated damages of 0.1% per day.\nDisputes shall be settled by arbitration under the ICC Rules.";
  auto s = statuses(check_completeness(en, {}, Language::kEn));
  for (const auto& [id, status] : s) EXPECT_EQ(status, ElementStatus::kPresent) << id;
}

TEST(Completeness, EmptyAndGarbageTextIsAllAbsentWithoutCrashing) {
  for (const std::string& text : {std::string(), std::string("\xFF\xFE\x00garbage", 10), std::string(5000, 'x')}) {
    auto checks = check_completeness(text, {{"nonsense", 5, 2}, {"dispute", 0, 100000}});
    ASSERT_EQ(checks.size(), 8u);
    for (const ElementCheck& c : checks) {
      if (c.id == "dispute") continue;  // the label alone makes it ambiguous
      EXPECT_EQ(c.status, ElementStatus::kAbsent) << c.id;
    }
  }
}

// ---- through the plug-in loader ----

class LegalValuesPlugin : public ::testing::Test {
 protected:
  void SetUp() override { host_.load("legal", {}, registry_); }

  std::unique_ptr<Stage> make(const std::string& name, const Options& options = {}) {
    const StageFactory* factory = registry_.stage_factory(name);
    if (!factory) throw std::runtime_error("no stage " + name);
    StageContext context;
    context.instance_name = name;
    return (*factory)(options, context);
  }

  static Document doc(const std::string& normalized) {
    Document d;
    d.source.path = "contract.txt";
    d.text = normalized;
    d.normalized = normalized;
    return d;
  }

  static void run(Stage& stage, Document& d, const std::string& name) {
    std::vector<Document*> docs{&d};
    stage.process_batch(docs, name);
  }

  PluginHost host_;
  Registry registry_;
};

TEST_F(LegalValuesPlugin, RegistersBothStagesWithTheirOptions) {
  const StageSpec* values = registry_.find_stage("legal.values");
  ASSERT_NE(values, nullptr);
  std::vector<std::string> names;
  for (const OptionSpec& o : values->options) names.push_back(o.name);
  EXPECT_EQ(names, (Strings{"language", "yen_sign", "kinds", "anchor_dates"}));
  const StageSpec* completeness = registry_.find_stage("legal.completeness");
  ASSERT_NE(completeness, nullptr);
  EXPECT_EQ(completeness->adds, (std::vector<Field>{Field::kAnnotations}));
}

TEST_F(LegalValuesPlugin, ValuesAnnotatesEveryKindWithAttributes) {
  Document d =
      doc("甲方：某某科技有限公司\n住所：北京市某区1号\n乙方：张三\n"
          "本合同于2024年3月1日签订，自签订之日起生效，有效期自合同生效之日起三年。"
          "服务费人民币伍拾万元整（¥50,000.00），乙方逾期的，每日按服务费的0.05%支付违约金，"
          "甲方应在验收后十五个工作日内付款。");
  auto stage = make("legal.values");
  run(*stage, d, "legal.values");
  ASSERT_FALSE(d.failed()) << d.error;
  std::map<std::string, std::vector<const Annotation*>> by_label;
  for (const Annotation& a : d.annotations) by_label[a.label].push_back(&a);
  ASSERT_EQ(by_label["party"].size(), 2u);
  EXPECT_EQ(by_label["party"][0]->attributes.at("role_id"), "party_a");
  EXPECT_EQ(by_label["party"][0]->attributes.at("address"), "北京市某区1号");
  EXPECT_EQ(by_label["party"][1]->attributes.at("name"), "张三");

  ASSERT_EQ(by_label["money"].size(), 1u);
  const Annotation& m = *by_label["money"][0];
  EXPECT_EQ(m.attributes.at("value"), "500000.00");
  EXPECT_EQ(m.attributes.at("currency"), "CNY");
  EXPECT_EQ(m.attributes.at("form"), "words+figures");
  EXPECT_EQ(m.attributes.at("figures_value"), "50000.00");
  EXPECT_EQ(m.attributes.at("warning"), "amount in words (500000) and in figures (50000) disagree");
  EXPECT_EQ(m.score, 0.6);

  ASSERT_EQ(by_label["date"].size(), 3u);
  EXPECT_EQ(by_label["date"][0]->attributes.at("value"), "2024-03-01");
  const Annotation& term = *by_label["date"][1];
  EXPECT_EQ(term.attributes.at("kind"), "relative");
  EXPECT_EQ(term.attributes.at("value"), "2027-03-01");
  EXPECT_EQ(term.attributes.at("anchor"), "effective");
  EXPECT_EQ(term.attributes.at("derivation"), "Effective Date 2024-03-01 + 3 years = 2027-03-01");
  const Annotation& pay = *by_label["date"][2];
  EXPECT_EQ(pay.attributes.at("value"), "");
  EXPECT_EQ(pay.attributes.at("anchor"), "acceptance");
  EXPECT_EQ(pay.attributes.at("within"), "true");
  EXPECT_EQ(pay.attributes.at("offset_unit"), "business_day");

  // The durations inside relative dates are not repeated.
  EXPECT_TRUE(by_label["duration"].empty());
  ASSERT_EQ(by_label["rate"].size(), 1u);
  EXPECT_EQ(by_label["rate"][0]->attributes.at("value"), "0.0005");
  EXPECT_EQ(by_label["rate"][0]->attributes.at("per"), "day");
  for (const Annotation& a : d.annotations) EXPECT_EQ(a.attributes.at("method"), "pattern");
}

TEST_F(LegalValuesPlugin, OptionsSelectKindsAndSupplyAnchors) {
  Options options;
  options.set("kinds", std::vector<std::string>{"date"});
  options.set("anchor_dates", std::vector<std::string>{"receipt=2024-04-10"});
  auto stage = make("legal.values", options);
  Document d = doc("Pay USD 5 within thirty (30) days of receipt.");
  run(*stage, d, "legal.values");
  ASSERT_FALSE(d.failed()) << d.error;
  ASSERT_EQ(d.annotations.size(), 1u);
  EXPECT_EQ(d.annotations[0].attributes.at("value"), "2024-05-10");

  Options bad;
  bad.set("anchor_dates", std::vector<std::string>{"receipt:April"});
  try {
    make("legal.values", bad);
    FAIL() << "a bad anchor_dates entry was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("[legal.values] anchor_dates: 'receipt:April' is not NAME=YYYY-MM-DD"),
              std::string::npos)
        << e.what();
  }
  Options unknown;
  unknown.set("kinds", std::vector<std::string>{"money", "colour"});
  EXPECT_THROW(make("legal.values", unknown), std::exception);
}

TEST_F(LegalValuesPlugin, CompletenessReadsTheClauseLabels) {
  Document d = doc(kFullContract);
  auto completeness = make("legal.completeness");
  run(*completeness, d, "legal.completeness");
  ASSERT_FALSE(d.failed()) << d.error;
  ASSERT_EQ(d.annotations.size(), 1u);
  const Annotation& a = d.annotations[0];
  EXPECT_EQ(a.label, "completeness");
  EXPECT_EQ(a.span.begin, 0u);
  EXPECT_EQ(a.span.end, d.normalized.size());
  EXPECT_EQ(a.score, 1.0);
  EXPECT_EQ(a.attributes.at("present"), "parties,subject,quantity,quality,price,performance,breach,dispute");
  EXPECT_EQ(a.attributes.at("absent"), "");
  EXPECT_EQ(a.attributes.at("parties"), "present (2 named parties with addresses)");

  // A clause label from an earlier stage counts even when no keyword would: a labelled price clause
  // without an amount is ambiguous.
  Document e = doc("第一条 费用\n按附件计算。");
  e.annotations.push_back({"price", {0, e.normalized.size()}, 0.9, {}, "legal.clauses"});
  e.annotations.push_back({"breach", {0, 3}, 0.2, {}, "legal.clauses"});  // below min_label_score
  run(*completeness, e, "legal.completeness");
  ASSERT_FALSE(e.failed()) << e.error;
  const Annotation& c = e.annotations.back();
  EXPECT_EQ(c.attributes.at("price"),
            "ambiguous (clause label 'price'): a price or payment clause without an amount (a formula or a "
            "reference?)");
  EXPECT_EQ(c.attributes.at("breach"), "absent");
  EXPECT_EQ(c.score, 0.0);
}

TEST_F(LegalValuesPlugin, NoInputFailsADocument) {
  auto values = make("legal.values");
  auto completeness = make("legal.completeness");
  std::string noise;
  for (int i = 0; i < 300; ++i) noise += "甲方（ \"Buyer\") 壹仟 ¥ 99999999999亿元 自之日起 0.5% 第 ２０２４年 (";
  for (const std::string& text :
       {std::string(), std::string("\xE4\xBA\x8C"), noise, std::string("人民币伍拾万元整（¥500,000.00）")}) {
    Document d = doc(text);
    run(*values, d, "legal.values");
    run(*completeness, d, "legal.completeness");
    EXPECT_FALSE(d.failed()) << d.error;
    EXPECT_EQ(d.annotations.back().label, "completeness");
  }
}

}  // namespace
}  // namespace ds::legal
