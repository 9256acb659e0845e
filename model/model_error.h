// The one exception type the model layer throws for bad model files and bad requests.
//
// Messages always start with the file (or "[model]" for requests not tied to a file) and name the
// tensor or metadata key at fault, e.g.
//   model.safetensors: tensor 'layers.3.global.q.weight': shape [64,32] but the config implies [64,64]
// so a user can act on the message alone.
#pragma once

#include <stdexcept>
#include <string>

namespace ds::model {

class ModelError : public std::runtime_error {
 public:
  // `file` may be empty (a request error); `subject` is e.g. "tensor 'embed.weight'" or
  // "metadata key 'config'", or empty when the problem concerns the whole file.
  ModelError(std::string file, std::string subject, const std::string& problem)
      : std::runtime_error(compose(file, subject, problem)), file_(std::move(file)), subject_(std::move(subject)) {}

  const std::string& file() const { return file_; }
  const std::string& subject() const { return subject_; }

 private:
  static std::string compose(const std::string& file, const std::string& subject, const std::string& problem) {
    std::string out = file.empty() ? "[model]" : file;
    if (!subject.empty()) out += ": " + subject;
    return out + ": " + problem;
  }
  std::string file_;
  std::string subject_;
};

}  // namespace ds::model
