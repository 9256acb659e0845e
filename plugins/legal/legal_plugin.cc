// The legal plug-in's entry point: contract clause classification and money amounts.
#include "ds/plugin.h"
#include "legal_stages.h"

DS_PLUGIN(ds::sdk::Plugin("legal", "0.1.0", "Apache-2.0",
                          "contract clauses and money amounts (keyword baselines, zh/en)")
              .stage<ds::legal::ClausesStage>()
              .stage<ds::legal::AmountsStage>())
