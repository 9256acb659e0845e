// "Did you mean" suggestions for misspelt names in pipeline files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::config {

// Optimal-string-alignment Damerau-Levenshtein distance (insert, delete, substitute, swap of two
// adjacent characters), counted in bytes.
int edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name`, or "" when none is close enough. Close enough: a case-only
// difference, or a distance of at most max(2, length/3) that is smaller than the name's length.
// Ties go to the earlier candidate.
std::string closest_name(std::string_view name, const std::vector<std::string>& candidates);

// "did you mean 'X'?" for closest_name(), or "" when there is none.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace ds::config
