// The unified zh/en clause taxonomy (taxonomy.tsv) and the CUAD mapping (cuad_map.tsv), compiled
// into the plug-in from those two files at build time, so the data files stay the one source.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::legal {

struct TaxonomyCategory {
  std::string id;        // stable id: the annotation label and the JSONL `category`
  std::string label;     // English
  std::string label_zh;  // 中文
  std::string art470;    // Civil Code Art. 470 item number, or empty
  std::vector<std::string> cuad;  // CUAD categories mapped to this id
};

class Taxonomy {
 public:
  // The taxonomy built into the plug-in. Thread-safe (built once).
  static const Taxonomy& builtin();
  // Parses the two TSV texts; throws std::runtime_error naming the file and line.
  static Taxonomy parse(std::string_view taxonomy_tsv, std::string_view cuad_map_tsv);

  const std::vector<TaxonomyCategory>& categories() const { return categories_; }
  const TaxonomyCategory* find(std::string_view id) const;
  // The unified id a CUAD category maps to, or "" when `cuad` is not a CUAD category name.
  std::string_view id_of_cuad(std::string_view cuad) const;
  // The CUAD category that stands for `id` on its own (exactly one mapped), or "".
  std::string_view sole_cuad(std::string_view id) const;
  // Every CUAD category name, in cuad_map.tsv order.
  const std::vector<std::string>& cuad_names() const { return cuad_names_; }

 private:
  std::vector<TaxonomyCategory> categories_;
  std::vector<std::string> cuad_names_;
  std::vector<std::string> cuad_ids_;  // parallel to cuad_names_
};

}  // namespace ds::legal
