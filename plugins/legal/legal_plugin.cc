// The legal plug-in's entry point: contract clauses, money amounts, normalized values and the
// Art. 470 completeness checklist.
#include "ds/plugin.h"
#include "extract_stage.h"
#include "legal_stages.h"

DS_PLUGIN(ds::sdk::Plugin("legal", "0.1.0", "Apache-2.0",
                          "contract clauses (legal model or keyword baseline), amounts, normalized values, completeness (zh/en)")
              .stage<ds::legal::ClausesStage>()
              .stage<ds::legal::AmountsStage>()
              .stage<ds::legal::ValuesStage>()
              .stage<ds::legal::CompletenessStage>()
              .stage<ds::legal::ExtractStage>())
