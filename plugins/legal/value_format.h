// Text forms of normalized values for annotation attributes. Pure functions, thread-safe.
#pragma once

#include <string>

namespace ds::legal {

// Plain decimal notation with at most `max_decimals` decimals and no trailing zeros: 0.0005 ->
// "0.0005", 3.0 -> "3", 0.1 + 0.2 -> "0.3". "" for a value that is not finite.
std::string format_decimal(double value, int max_decimals = 10);

}  // namespace ds::legal
