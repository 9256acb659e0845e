// The `model.encode` stage: runs the Deepseek encoder over each document's tokens and fills
// `doc.outputs` with "hidden" [T, D] and one tensor per model head (named as the head).
//
// With `path: auto` a router (model/router.h) picks the path per document from its complexity
// features; the choice is recorded as a document-level `route` annotation (empty span at 0;
// attributes `path`, `score`, `router`; score = the router's score), and documents are batched by
// chosen path. A forced path records nothing.
//
// The only place the framework touches the model (ARCHITECTURE.md). Batches documents by token
// count; a document the model cannot take (token ids outside the vocabulary) fails alone.
#pragma once

#include <string>
#include <vector>

#include "ds/document.h"
#include "model/encoder.h"

namespace ds {

class Registry;
// Registers "model.encode" (reads tokens, adds outputs).
void register_model_stage(Registry& registry);

// Token index ranges of `segments` (byte spans in `normalized`): a token belongs to the segment
// its first byte falls in. Tokens must be in text order, as the tokenizer gives them.
std::vector<model::TokenRange> segment_token_ranges(const std::vector<Segment>& segments,
                                                    const std::vector<Token>& tokens);

// Where `path: auto` looks for a model's router when the option `router` is empty, and where
// `deepseek router train` writes it: `<folder>/<stem>.router.yaml` for `<folder>/<stem>.safetensors`.
std::string default_router_file(const std::string& model_path);

// "sha256:<hex>" of a model file (what a router records), computed once per path, size and
// modification time. Thread-safe. Throws std::runtime_error when the file cannot be read.
std::string model_file_sha256(const std::string& model_path);

}  // namespace ds
