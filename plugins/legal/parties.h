// Contract parties with their roles, from the party block and from English definitions:
//   甲方:XX有限公司 / 乙方(承租方):张三 / 出卖人:… / 买受人:… / XX公司(以下简称"甲方");
//   Buyer: ABC Co., Ltd. / Party A: …;
//   'ABC Corp., a Delaware corporation ("Licensor")', 'between X ("Company") and Y ("Consultant")',
//   'XYZ Ltd. (hereinafter referred to as the "Supplier")'
// -> {name, role as written, role_id, address when a 住所/地址/Address line follows}.
//
// role_id: party_a .. party_d for 甲方 .. 丁方 (also when the role word is in parentheses beside
// another); the English equivalent for other Chinese role words (出卖人 -> seller, 承租人 -> lessee,
// 委托方 -> principal, 受托方 -> agent, 借款人 -> borrower, 贷款人 -> lender ...); an English role
// lower-cased with '_' for spaces ("Service Provider" -> service_provider).
//
// Offsets are bytes. Pure functions, thread-safe; nothing throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::legal {

struct Party {
  size_t begin = 0;  // bytes: the party line, or the name through the closing parenthesis of its role
  size_t end = 0;
  std::string name;        // "" when the template left it blank (甲方:________)
  std::string role;        // as written: "甲方", "出租人", "Licensor"
  std::string role_alias;  // a second role word in parentheses: 甲方(出租方) -> "出租方"; "" if none
  std::string role_id;
  std::string address;  // "" when no address line or phrase was found
  std::vector<std::string> warnings;
};

// The parties of `text` in order of appearance. A role seen again with the same or no name (a
// signature block: 甲方(盖章):) is not repeated.
std::vector<Party> find_parties(std::string_view text);

// The role_id for a role word as written ("乙方" -> "party_b", "承租方" -> "lessee", "Service
// Provider" -> "service_provider"); "" if it is not a known role word.
std::string role_id_for(std::string_view role);

}  // namespace ds::legal
