#pragma once
/// Caller ID text → name and number, the way Asterisk reads it
/// (`ast_callerid_parse` in main/callerid.c, then `ast_shrink_phone_number`
/// for a number, as ARI's originate does with its `callerId`):
///   `"Alice" <5551234>`, `Alice <5551234>` → name Alice, number 5551234
///   `<5551234>`                             → number only
///   `+1 (555) 013-0000`                     → number +15550130000 (punctuation removed)
///   `Alice`, `"Alice"`, `555-CALL`          → name only, empty number
/// A bare value is a number only if, with spaces, parentheses, dashes and dots
/// removed, it is made of `0-9 * # +` alone.
#include <string>
#include <string_view>

namespace aa::calls {

struct CallerId {
  std::string name;
  std::string number;
};

CallerId parse_caller_id(std::string_view text);

}  // namespace aa::calls
