// The `model.encode` stage: runs the Deepseek encoder over each document's tokens and fills
// `doc.outputs` with "hidden" [T, D] and one tensor per model head (named as the head).
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

}  // namespace ds
